// Where outputs go. A sink answers OK, RETRY or ERROR; the engine owns retry and back-off.
// A sink that confirms delivery later (a QoS 1 PUBACK, a Kafka delivery report, a SQLite
// commit) reports each message's ticket through poll(); the engine keeps the message in its
// outbox until then.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir {

enum class SinkResult : uint8_t {
  kOk,     // accepted (for a QoS 1 MQTT sink: handed to the client, which completes it)
  kRetry,  // temporarily unable (not connected, queue full): the engine retries later
  kError,  // permanently rejected (too large, invalid topic): counted, logged, dropped
};

struct OutputMessage {
  std::string topic;  // MQTT topic, Kafka topic, or SQLite table ($merge)
  std::string payload;
  int qos = 1;
  bool retain = false;
  // The group key (the output's "_id"): the Kafka message key, so a group's outputs stay in
  // one partition and in order. Empty: no key.
  std::string key;
  // The output id ("_stream_meta.outputId", or an alert's "alertId"); empty when none.
  std::string output_id;
  // Metadata carried as Kafka headers or MQTT 5 user properties (pipeline, window bounds).
  std::vector<std::pair<std::string, std::string>> headers;
  // MQTT 5 message expiry in seconds (0: none).
  uint32_t expiry_s = 0;
  // Sent from the outbox after a delay (the sink was down, or weir restarted): marked so
  // consumers can tell (header / user property "weir-resent").
  bool resent = false;
  // Nonzero when the engine wants a confirmation: poll() reports this ticket once the far
  // end has the message (or has refused it for good).
  uint64_t ticket = 0;
};

struct SinkConfirmation {
  uint64_t ticket = 0;
  bool ok = true;      // false: refused for good (counted as failed, not retried)
  std::string error;   // why, when !ok
  bool retry = false;  // lost without being sent (with ok false): the engine sends it again
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual SinkResult send(const OutputMessage& message) = 0;
  // True when the sink can take messages now (used by the engine before retrying).
  virtual bool ready() const noexcept = 0;
  // Appends the confirmations of ticketed messages since the last call; called from the
  // engine thread every tick. A sink whose kOk is final confirms at once.
  virtual void poll(std::vector<SinkConfirmation>& confirmed) = 0;
  // The link to the far end is up (ready() may still be false while it is busy). Outputs
  // that waited while it was down are the backlog, sent at the outbox's drain rate.
  virtual bool connected() const { return true; }
};

}  // namespace weir
