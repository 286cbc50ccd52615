// Publishes over MQTT with paho-mqtt-cpp's async client, with flow control: at most
// `max_inflight` publishes await completion; when that many are pending the oldest is
// waited for. Failures come back as results with a message, not as exceptions.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <mqtt/async_client.h>

#include "sim/publisher.hpp"

namespace weir::sim {

struct PublisherConfig {
  std::string host;
  uint16_t port = 1883;
  std::string client_id;
  int qos = 1;
  uint32_t max_inflight = 1000;
};

class MqttPublisher final : public Publisher {
 public:
  explicit MqttPublisher(PublisherConfig config);
  ~MqttPublisher() override;
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // MQTT 3.1.1, clean session, keepalive 30 s; waits for the CONNACK.
  PublishResult connect() override;
  // Queues one message; may wait for the oldest pending publish first. Never drops.
  PublishResult publish(const std::string& topic, std::string_view payload,
                        PayloadKind kind) override;
  // Waits until every pending publish has completed.
  PublishResult drain() override;
  PublishResult disconnect() override;

  // "tcp://host:port"
  const std::string& target() const override { return server_uri_; }
  const std::string& last_error() const override { return last_error_; }

 private:
  PublishResult wait_oldest();
  PublishResult fail(std::string message);

  PublisherConfig config_;
  std::string server_uri_;
  std::unique_ptr<mqtt::async_client> client_;
  std::deque<mqtt::delivery_token_ptr> pending_;
  std::string last_error_;
  bool connected_ = false;
};

}  // namespace weir::sim
