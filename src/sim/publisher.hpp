// Where the simulator's messages go: an MQTT broker (MqttPublisher) or a replay file
// (FilePublisher). Failures come back as results with a message, not as exceptions.
#pragma once

#include <string>
#include <string_view>

namespace weir::sim {

enum class PublishResult { kOk, kFailed };

// What a payload is, so a file can hold it as it is or must encode it.
enum class PayloadKind {
  kJson,    // a valid JSON document
  kBytes,   // anything else (CBOR, malformed payloads)
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual PublishResult connect() = 0;
  // Queues one message; may wait. Never drops.
  virtual PublishResult publish(const std::string& topic, std::string_view payload,
                                PayloadKind kind) = 0;
  // Waits until every queued message has been delivered (or written).
  virtual PublishResult drain() = 0;
  virtual PublishResult disconnect() = 0;
  // Where messages go: "tcp://host:port" or the file's path.
  virtual const std::string& target() const = 0;
  virtual const std::string& last_error() const = 0;
};

}  // namespace weir::sim
