// Writes messages as `weir replay` input instead of publishing them: one JSON line per
// message, {"topic": ..., "time": ..., "payload": ...}. A JSON payload is embedded as it is;
// other bytes (CBOR, malformed payloads) are a base64 string with "encoding": "base64".
// "time" is the reading's event time, so a replay's processing time follows the data.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "sim/publisher.hpp"

namespace weir::sim {

class FilePublisher final : public Publisher {
 public:
  // "-" writes to stdout.
  explicit FilePublisher(std::string path);
  ~FilePublisher() override;
  FilePublisher(const FilePublisher&) = delete;
  FilePublisher& operator=(const FilePublisher&) = delete;

  PublishResult connect() override;
  PublishResult publish(const std::string& topic, std::string_view payload,
                        PayloadKind kind) override;
  PublishResult drain() override;
  PublishResult disconnect() override;
  const std::string& target() const override { return path_; }
  const std::string& last_error() const override { return last_error_; }

  // The event time written with the next message (epoch ms).
  void set_time(int64_t ts_ms) { time_ms_ = ts_ms; }

 private:
  PublishResult fail(std::string message);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string line_;
  int64_t time_ms_ = 0;
  std::string last_error_;
};

// Standard base64 with padding (RFC 4648).
void append_base64(std::string& out, std::string_view bytes);

}  // namespace weir::sim
