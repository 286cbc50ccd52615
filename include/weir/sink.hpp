// Where outputs go. A sink answers OK, RETRY or ERROR; the engine owns retry and back-off.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weir {

enum class SinkResult : uint8_t {
  kOk,     // accepted (for a QoS 1 MQTT sink: handed to the client, which completes it)
  kRetry,  // temporarily unable (not connected, queue full): the engine retries later
  kError,  // permanently rejected (too large, invalid topic): counted, logged, dropped
};

struct OutputMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual SinkResult send(const OutputMessage& message) = 0;
  // True when the sink can take messages now (used by the engine before retrying).
  virtual bool ready() const noexcept = 0;
};

}  // namespace weir
