#include "sim/truth_writer.hpp"

#include <cerrno>
#include <cstring>

#include "sim/number_text.hpp"

namespace weir::sim {
namespace {

constexpr size_t kBufferSize = size_t{1} << 20;
constexpr std::string_view kHeader = "# weir-sim truth v1\n";

}  // namespace

std::optional<TruthWriter> TruthWriter::open(const std::string& path, std::string& error) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    error = "cannot create truth file '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  TruthWriter writer(file);
  writer.buffer_ += kHeader;
  return writer;
}

TruthWriter::TruthWriter(std::FILE* file) : file_(file) { buffer_.reserve(kBufferSize + 256); }

void TruthWriter::write_reading(std::string_view device, uint64_t seq, int64_t ts_ms, double temp,
                                double hum) {
  buffer_ += "reading,";
  buffer_ += device;
  buffer_ += ',';
  append_uint(buffer_, seq);
  buffer_ += ',';
  append_int(buffer_, ts_ms);
  buffer_ += ',';
  append_double(buffer_, temp);
  buffer_ += ',';
  append_double(buffer_, hum);
  buffer_ += '\n';
  flush_if_full();
}

void TruthWriter::write_malformed(std::string_view device, uint64_t seq, MalformedKind kind) {
  buffer_ += "malformed,";
  buffer_ += device;
  buffer_ += ',';
  append_uint(buffer_, seq);
  buffer_ += ',';
  buffer_ += to_string(kind);
  buffer_ += '\n';
  flush_if_full();
}

void TruthWriter::write_anomaly(std::string_view device, AnomalyType type, int64_t start_ts_ms,
                                int64_t end_ts_ms) {
  buffer_ += "anomaly,";
  buffer_ += device;
  buffer_ += ',';
  buffer_ += to_string(type);
  buffer_ += ',';
  append_int(buffer_, start_ts_ms);
  buffer_ += ',';
  append_int(buffer_, end_ts_ms);
  buffer_ += '\n';
  flush_if_full();
}

void TruthWriter::flush_if_full() {
  if (buffer_.size() >= kBufferSize) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
      failed_ = true;
    }
    buffer_.clear();
  }
}

bool TruthWriter::flush() {
  if (!buffer_.empty()) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
      failed_ = true;
    }
    buffer_.clear();
  }
  if (std::fflush(file_.get()) != 0) failed_ = true;
  return !failed_;
}

}  // namespace weir::sim
