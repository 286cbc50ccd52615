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
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "weir/record.hpp"
#include "weir/time.hpp"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace weir::ingest {

// MQTT 5 properties of a publish (ignored on an MQTT 3.1.1 connection).
struct PublishProperties {
  uint32_t message_expiry_s = 0;  // 0: none
  const char* content_type = nullptr;
  const std::vector<std::pair<std::string, std::string>>* user_properties = nullptr;
};

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

  // clock stamps Message::received.
  MqttClient(const config::ConnectionSpec& spec, uint32_t index, const Clock& clock,
             MessageHandler handler);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Subscriptions made on every (re)connect. Call before start().
  void add_subscription(std::string filter, int qos);
  // A reload: the subscriptions become these (new ones subscribed and dropped ones
  // unsubscribed now when connected; all of them on every reconnect).
  void set_subscriptions(std::vector<std::pair<std::string, int>> subscriptions);
  // Starts the network thread and the first connection attempt. False (with error) only
  // for errors that retrying cannot fix (bad TLS files, out of memory).
  bool start(std::string& error);
  // Sends DISCONNECT and stops the network thread.
  void stop();

  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
  // QoS 1/2 publishes handed to libmosquitto and not yet acknowledged by the broker.
  size_t in_flight() const;
  // mosquitto_publish result code (MOSQ_ERR_*). For QoS 1/2, MOSQ_ERR_NO_CONN and
  // MOSQ_ERR_CONN_LOST mean libmosquitto queued the message and sends it after reconnecting.
  // With tracked_mid, the message id is stored there and reported by take_completed() once
  // the publish is complete (PUBACK for QoS 1, written out for QoS 0).
  int publish(const std::string& topic, const std::string& payload, int qos, bool retain,
              const PublishProperties* properties = nullptr, int* tracked_mid = nullptr);
  // Tracked publishes completed since the last call: (message id, reason code; 0 or below
  // 0x80 is success, MQTT 5 PUBACK codes from 0x80 up are refusals).
  void take_completed(std::vector<std::pair<int, int>>& completed);
  // The protocol in use: 5 or 4 (3.1.1).
  int protocol() const noexcept { return protocol_.load(std::memory_order_relaxed); }
  const std::string& name() const noexcept { return spec_.name; }
  MqttCounters counters() const noexcept;

 private:
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_message(struct mosquitto*, void* self, const struct mosquitto_message* msg);
  static void on_publish(struct mosquitto*, void* self, int mid, int reason, const struct mqtt5__property*);
  static void on_subscribe(struct mosquitto*, void* self, int mid, int count, const int* granted);
  static void on_log(struct mosquitto*, void* self, int level, const char* text);
  // The supervisor thread: connects (retrying with back-off until it works or stop() is
  // called), starts libmosquitto's network thread, which reconnects by itself after
  // ordinary failures, and starts it again when it ended on an error libmosquitto treats as
  // fatal (a TLS or protocol error). libmosquitto's threaded loop also never retries when
  // the very first connection attempt was refused.
  void supervise();
  // Caller holds mu_. Returns false when stopping.
  bool connect_until_up(std::unique_lock<std::mutex>& lock);
  // Logs a connection problem once per change of its text (not once per retry).
  void report(const std::string& problem);

  config::ConnectionSpec spec_;
  uint32_t index_;
  const Clock& clock_;
  MessageHandler handler_;
  struct mosquitto* mosq_ = nullptr;
  mutable std::mutex subs_mu_;  // subscriptions_: the network thread reads it on connect
  std::vector<std::pair<std::string, int>> subscriptions_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> started_{false};
  bool loop_running_ = false;
  bool stopping_ = false;
  bool restart_ = false;
  std::mutex report_mu_;
  std::string last_problem_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread connector_;
  mutable std::mutex in_flight_mu_;
  std::unordered_set<int> in_flight_;  // message ids of QoS 1/2 publishes awaiting PUBACK
  std::unordered_set<int> tracked_;    // ids whose completion is reported
  std::vector<std::pair<int, int>> completed_;
  std::atomic<int> protocol_{4};
  std::atomic<uint32_t> since_connect_{0};
  std::atomic<uint64_t> received_{0}, connects_{0}, disconnects_{0}, published_{0}, acked_{0};
};

// Calls mosquitto_lib_init once per process.
void mqtt_library_init();

}  // namespace weir::ingest
