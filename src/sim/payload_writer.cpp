#include "sim/payload_writer.hpp"

#include <cbor.h>

#include <array>
#include <cstring>

#include "sim/number_text.hpp"

namespace weir::sim {
namespace {

// RFC 8428 section 6: SenML CBOR labels.
constexpr int64_t kSenmlBaseName = -2;
constexpr int64_t kSenmlBaseTime = -3;
constexpr int64_t kSenmlName = 0;
constexpr int64_t kSenmlUnit = 1;
constexpr int64_t kSenmlValue = 2;

constexpr double kMsPerSecond = 1000.0;
constexpr size_t kCborHeadMax = 9;  // largest CBOR head: 1 byte + 8 byte argument

// Appends CBOR items to a byte string with libcbor's streaming encoders.
class CborAppender {
 public:
  explicit CborAppender(std::string& out) : out_(out) {}

  void map_start(size_t pairs) { head(cbor_encode_map_start(pairs, buf_.data(), buf_.size())); }
  void array_start(size_t items) { head(cbor_encode_array_start(items, buf_.data(), buf_.size())); }
  void uint(uint64_t value) { head(cbor_encode_uint(value, buf_.data(), buf_.size())); }
  void integer(int64_t value) {
    if (value >= 0) {
      head(cbor_encode_uint(static_cast<uint64_t>(value), buf_.data(), buf_.size()));
    } else {
      // CBOR negative integers carry -1 - value.
      head(cbor_encode_negint(static_cast<uint64_t>(-(value + 1)), buf_.data(), buf_.size()));
    }
  }
  void float64(double value) { head(cbor_encode_double(value, buf_.data(), buf_.size())); }
  void text(std::string_view value) {
    head(cbor_encode_string_start(value.size(), buf_.data(), buf_.size()));
    out_.append(value);
  }

 private:
  void head(size_t written) { out_.append(reinterpret_cast<const char*>(buf_.data()), written); }

  std::string& out_;
  std::array<unsigned char, kCborHeadMax> buf_{};
};

void write_cbor_reading(const Reading& r, std::string& out) {
  CborAppender cbor(out);
  cbor.map_start(r.sent_us ? 5 : 4);
  cbor.text("ts");
  cbor.uint(static_cast<uint64_t>(r.ts_ms));
  cbor.text("temp");
  cbor.float64(r.temp);
  cbor.text("hum");
  cbor.float64(r.hum);
  cbor.text("seq");
  cbor.uint(r.seq);
  if (r.sent_us) {
    cbor.text("sentUs");
    cbor.uint(static_cast<uint64_t>(*r.sent_us));
  }
}

void write_senml_json(const Reading& r, std::string& out) {
  out += "[{\"bn\":\"urn:dev:";
  out += r.device;
  out += ":\",\"bt\":";
  append_double(out, static_cast<double>(r.ts_ms) / kMsPerSecond);
  if (r.sent_us) {
    out += ",\"sentUs\":";
    append_int(out, *r.sent_us);
  }
  out += ",\"n\":\"temp\",\"u\":\"Cel\",\"v\":";
  append_double(out, r.temp);
  out += "},{\"n\":\"hum\",\"u\":\"%RH\",\"v\":";
  append_double(out, r.hum);
  out += "}]";
}

void write_senml_cbor(const Reading& r, std::string& out) {
  CborAppender cbor(out);
  cbor.array_start(2);
  cbor.map_start(r.sent_us ? 6 : 5);
  cbor.integer(kSenmlBaseName);
  std::string base_name = "urn:dev:";
  base_name += r.device;
  base_name += ':';
  cbor.text(base_name);
  cbor.integer(kSenmlBaseTime);
  cbor.float64(static_cast<double>(r.ts_ms) / kMsPerSecond);
  if (r.sent_us) {
    cbor.text("sentUs");
    cbor.uint(static_cast<uint64_t>(*r.sent_us));
  }
  cbor.integer(kSenmlName);
  cbor.text("temp");
  cbor.integer(kSenmlUnit);
  cbor.text("Cel");
  cbor.integer(kSenmlValue);
  cbor.float64(r.temp);
  cbor.map_start(3);
  cbor.integer(kSenmlName);
  cbor.text("hum");
  cbor.integer(kSenmlUnit);
  cbor.text("%RH");
  cbor.integer(kSenmlValue);
  cbor.float64(r.hum);
}

}  // namespace

void write_json_reading(const Reading& r, std::string& out) {
  out += "{\"ts\":";
  append_int(out, r.ts_ms);
  out += ",\"temp\":";
  append_double(out, r.temp);
  out += ",\"hum\":";
  append_double(out, r.hum);
  out += ",\"seq\":";
  append_uint(out, r.seq);
  if (r.sent_us) {
    out += ",\"sentUs\":";
    append_int(out, *r.sent_us);
  }
  out += '}';
}

void PayloadWriter::write(const Reading& reading, std::string& out) const {
  out.clear();
  switch (format_) {
    case PayloadFormat::kJson:
      write_json_reading(reading, out);
      break;
    case PayloadFormat::kCbor:
      write_cbor_reading(reading, out);
      break;
    case PayloadFormat::kSenml:
      write_senml_json(reading, out);
      break;
    case PayloadFormat::kSenmlCbor:
      write_senml_cbor(reading, out);
      break;
  }
}

}  // namespace weir::sim
