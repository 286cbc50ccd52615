// Publishes outputs on an MQTT connection. RETRY while disconnected or while too many
// QoS 1 publishes await their PUBACK (so memory stays bounded when the broker is slow).
// On an MQTT 5 connection each output carries its metadata as properties: content type,
// message expiry, and user properties (weir-output-id, weir-pipeline, window bounds,
// weir-resent). A ticketed message is confirmed by its PUBACK (QoS 1/2) or once written
// (QoS 0).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ingest/mqtt/mqtt_client.hpp"
#include "weir/sink.hpp"

namespace weir::sink {

class MqttSink final : public Sink {
 public:
  explicit MqttSink(ingest::MqttClient& client, size_t max_in_flight = 10000)
      : client_(client), max_in_flight_(max_in_flight) {}
  std::string_view name() const noexcept override { return name_; }
  SinkResult send(const OutputMessage& message) override;
  bool ready() const noexcept override;
  void poll(std::vector<SinkConfirmation>& confirmed) override;
  bool connected() const override { return client_.connected(); }

 private:
  ingest::MqttClient& client_;
  size_t max_in_flight_;
  std::string name_ = "mqtt:" + client_.name();
  std::unordered_map<int, uint64_t> tickets_;  // message id -> ticket
  std::vector<std::pair<int, int>> completed_;
  std::vector<SinkConfirmation> immediate_;  // QoS 0: complete once handed over
  std::vector<std::pair<std::string, std::string>> properties_;
};

}  // namespace weir::sink
