// One broker connection over libmosquitto's threaded loop: a persistent session (fixed
// client id, clean session off), automatic reconnect with exponential back-off and
// re-subscription, TLS and user/password. Received messages go to a handler on the
// network thread; the handler may block (back-pressure: the broker waits for our PUBACK).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "weir/record.hpp"

struct mosquitto;
struct mosquitto_message;

namespace weir::ingest {

struct MqttCounters {
  uint64_t received = 0;
  uint64_t connects = 0;
  uint64_t disconnects = 0;
  uint64_t published = 0;
  uint64_t publish_acked = 0;
};

class MqttClient {
 public:
  using MessageHandler = std::function<void(Message&&)>;

  MqttClient(const config::ConnectionSpec& spec, uint32_t index, MessageHandler handler);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Subscriptions made on every (re)connect. Call before start().
  void add_subscription(std::string filter, int qos);
  // Starts the network thread and the first connection attempt. False (with error) only
  // for errors that retrying cannot fix (bad TLS files, out of memory).
  bool start(std::string& error);
  // Sends DISCONNECT and stops the network thread.
  void stop();

  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
  // QoS 1/2 publishes not yet acknowledged by the broker.
  int64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  // mosquitto_publish result code (MOSQ_ERR_*).
  int publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  const std::string& name() const noexcept { return spec_.name; }
  MqttCounters counters() const noexcept;

 private:
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_message(struct mosquitto*, void* self, const struct mosquitto_message* msg);
  static void on_publish(struct mosquitto*, void* self, int mid);
  // Tries the first connection until it succeeds or stop() is called, then starts the
  // network thread, which reconnects by itself from then on. (libmosquitto's threaded
  // loop does not retry when the very first connection attempt was refused.)
  void connect_until_up();

  config::ConnectionSpec spec_;
  uint32_t index_;
  MessageHandler handler_;
  struct mosquitto* mosq_ = nullptr;
  std::vector<std::pair<std::string, int>> subscriptions_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> started_{false};
  bool loop_running_ = false;
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread connector_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> received_{0}, connects_{0}, disconnects_{0}, published_{0}, acked_{0};
};

// Calls mosquitto_lib_init once per process.
void mqtt_library_init();

}  // namespace weir::ingest
