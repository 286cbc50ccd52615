// Publishes outputs on an MQTT connection. RETRY while disconnected or while too many
// QoS 1 publishes await their PUBACK (so memory stays bounded when the broker is slow).
#pragma once

#include <cstdint>

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

 private:
  ingest::MqttClient& client_;
  size_t max_in_flight_;
  std::string name_ = "mqtt:" + client_.name();
};

}  // namespace weir::sink
