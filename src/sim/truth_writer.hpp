// The ground truth file: one CSV line per event, in publish order, written through a large
// buffer so that a million lines cost little next to publishing.
//
//   # weir-sim truth v1
//   reading,<device>,<seq>,<ts_ms>,<temp>,<hum>
//   malformed,<device>,<seq of the reading it followed>,<kind>
//   anomaly,<device>,<type>,<start_ts_ms>,<end_ts_ms>
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sim/malformed_writer.hpp"
#include "sim/sim_options.hpp"

namespace weir::sim {

class TruthWriter {
 public:
  // Creates (truncates) the file and writes the header line; nullopt with `error` set when
  // the file cannot be created.
  static std::optional<TruthWriter> open(const std::string& path, std::string& error);

  void write_reading(std::string_view device, uint64_t seq, int64_t ts_ms, double temp, double hum);
  void write_malformed(std::string_view device, uint64_t seq, MalformedKind kind);
  void write_anomaly(std::string_view device, AnomalyType type, int64_t start_ts_ms,
                     int64_t end_ts_ms);

  // Writes the buffer out and flushes the file; false on an I/O error.
  bool flush();

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  explicit TruthWriter(std::FILE* file);
  void flush_if_full();

  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string buffer_;
  bool failed_ = false;
};

}  // namespace weir::sim
