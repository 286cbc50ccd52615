#include "sim/mqtt_publisher.hpp"

#include <MQTTAsync.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace weir::sim {
namespace {

constexpr int kKeepAliveSeconds = 30;
constexpr int kConnectTimeoutSeconds = 10;
constexpr int kMinBufferedMessages = 10000;
constexpr auto kBufferFullPause = std::chrono::milliseconds(1);
constexpr auto kBufferFullDeadline = std::chrono::seconds(60);
constexpr auto kDisconnectTimeout = std::chrono::seconds(10);

std::string make_server_uri(const std::string& host, uint16_t port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

MqttPublisher::MqttPublisher(PublisherConfig config)
    : config_(std::move(config)), server_uri_(make_server_uri(config_.host, config_.port)) {}

MqttPublisher::~MqttPublisher() {
  if (connected_) (void)disconnect();
}

PublishResult MqttPublisher::fail(std::string message) {
  last_error_ = std::move(message);
  return PublishResult::kFailed;
}

PublishResult MqttPublisher::connect() {
  try {
    // Paho counts queued publishes against max_buffered even while connected: keep the
    // limit well above what our own flow control lets pile up.
    const int max_buffered =
        std::max(kMinBufferedMessages, 2 * static_cast<int>(config_.max_inflight));
    mqtt::create_options create(MQTTVERSION_3_1_1, max_buffered);
    create.set_send_while_disconnected(false);
    client_ = std::make_unique<mqtt::async_client>(server_uri_, config_.client_id, create, nullptr);
    mqtt::connect_options options;
    options.set_mqtt_version(MQTTVERSION_3_1_1);
    options.set_clean_session(true);
    options.set_keep_alive_interval(kKeepAliveSeconds);
    options.set_connect_timeout(kConnectTimeoutSeconds);
    options.set_max_inflight(static_cast<int>(config_.max_inflight));
    options.set_automatic_reconnect(false);
    client_->connect(options)->wait();
    connected_ = true;
    return PublishResult::kOk;
  } catch (const mqtt::exception& e) {
    return fail("cannot connect to " + server_uri_ + " as '" + config_.client_id +
                "': " + e.what());
  }
}

PublishResult MqttPublisher::wait_oldest() {
  mqtt::delivery_token_ptr oldest = std::move(pending_.front());
  pending_.pop_front();
  try {
    oldest->wait();
    return PublishResult::kOk;
  } catch (const mqtt::exception& e) {
    return fail(std::string("publish failed: ") + e.what());
  }
}

PublishResult MqttPublisher::publish(const std::string& topic, std::string_view payload,
                                     PayloadKind /*kind*/) {
  while (pending_.size() >= config_.max_inflight) {
    if (wait_oldest() != PublishResult::kOk) return PublishResult::kFailed;
  }
  const auto deadline = std::chrono::steady_clock::now() + kBufferFullDeadline;
  while (true) {
    try {
      pending_.push_back(
          client_->publish(topic, payload.data(), payload.size(), config_.qos, false));
      return PublishResult::kOk;
    } catch (const mqtt::exception& e) {
      if (e.get_return_code() != MQTTASYNC_MAX_BUFFERED_MESSAGES) {
        return fail(std::string("publish failed: ") + e.what());
      }
      // Paho's buffer is full: let the oldest publish complete, then try again.
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(std::string("publish failed: client buffer stayed full: ") + e.what());
      }
      if (!pending_.empty()) {
        if (wait_oldest() != PublishResult::kOk) return PublishResult::kFailed;
      } else {
        std::this_thread::sleep_for(kBufferFullPause);
      }
    }
  }
}

PublishResult MqttPublisher::drain() {
  while (!pending_.empty()) {
    if (wait_oldest() != PublishResult::kOk) return PublishResult::kFailed;
  }
  return PublishResult::kOk;
}

PublishResult MqttPublisher::disconnect() {
  if (!connected_) return PublishResult::kOk;
  connected_ = false;
  try {
    client_->disconnect()->wait_for(kDisconnectTimeout);
    return PublishResult::kOk;
  } catch (const mqtt::exception& e) {
    return fail(std::string("disconnect failed: ") + e.what());
  }
}

}  // namespace weir::sim
