#include "ingest/mqtt/mqtt_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

namespace weir::ingest {

void mqtt_library_init() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

MqttClient::MqttClient(const config::ConnectionSpec& spec, uint32_t index, const Clock& clock,
                       MessageHandler handler)
    : spec_(spec), index_(index), clock_(clock), handler_(std::move(handler)) {
  mqtt_library_init();
  mosq_ = mosquitto_new(spec_.client_id.c_str(), spec_.clean_session, this);
  if (mosq_ == nullptr) throw std::runtime_error("mosquitto_new failed (out of memory)");
  mosquitto_connect_callback_set(mosq_, &MqttClient::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &MqttClient::on_disconnect);
  mosquitto_message_callback_set(mosq_, &MqttClient::on_message);
  // The MQTT 5 form also gives the PUBACK's reason code (a broker may refuse a publish).
  mosquitto_publish_v5_callback_set(mosq_, &MqttClient::on_publish);
  mosquitto_subscribe_callback_set(mosq_, &MqttClient::on_subscribe);
  mosquitto_log_callback_set(mosq_, &MqttClient::on_log);
  mosquitto_reconnect_delay_set(mosq_, static_cast<unsigned>((spec_.reconnect_min_ms + 999) / 1000),
                                static_cast<unsigned>((spec_.reconnect_max_ms + 999) / 1000), true);
  // Keep publishing fast: many QoS 1 messages may be in flight at once.
  mosquitto_max_inflight_messages_set(mosq_, 1000);
  // Small packets (PUBACKs, outputs) leave at once rather than waiting for Nagle's
  // algorithm to coalesce them with the next ones: an emitted output would otherwise wait
  // up to a delayed-ACK period (40 ms on Linux) behind an unacknowledged one.
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
}

MqttClient::~MqttClient() {
  stop();
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

void MqttClient::add_subscription(std::string filter, int qos) {
  std::lock_guard lock(subs_mu_);
  subscriptions_.emplace_back(std::move(filter), qos);
}

void MqttClient::set_subscriptions(std::vector<std::pair<std::string, int>> subscriptions) {
  std::lock_guard lock(subs_mu_);
  for (const auto& [filter, qos] : subscriptions_) {
    const bool kept = std::any_of(subscriptions.begin(), subscriptions.end(),
                                  [&](const auto& s) { return s.first == filter; });
    if (!kept && connected()) mosquitto_unsubscribe(mosq_, nullptr, filter.c_str());
  }
  for (const auto& [filter, qos] : subscriptions) {
    const bool had = std::any_of(subscriptions_.begin(), subscriptions_.end(),
                                 [&](const auto& s) { return s.first == filter && s.second == qos; });
    if (!had && connected()) mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
  }
  subscriptions_ = std::move(subscriptions);
}

bool MqttClient::start(std::string& error) {
  // MQTT 5 where it is safe: libmosquitto 2.0 drops the CONNECT properties when its network
  // thread reconnects, so an MQTT 5 session would expire at every reconnect (session expiry
  // 0) and the broker would discard what it queued for our subscriptions meanwhile. "auto"
  // therefore means MQTT 5 for connections weir only publishes to, 3.1.1 for the others.
  int version = spec_.mqtt_version;
  if (version == 0) version = subscriptions_.empty() ? 5 : 4;
  if (version == 5 && !subscriptions_.empty() && !spec_.clean_session) {
    spdlog::warn("connection \"{}\": MQTT 5 with subscriptions: after an automatic reconnect the broker "
                 "session does not persist (libmosquitto sends no session expiry then); messages published "
                 "while disconnected can be lost. Use \"mqttVersion\": \"3.1.1\" or \"auto\" for ingest",
                 spec_.name);
  }
  protocol_ = version;
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (!spec_.username.empty() || !spec_.password.empty()) {
    int rc = mosquitto_username_pw_set(mosq_, spec_.username.empty() ? nullptr : spec_.username.c_str(),
                                       spec_.password.empty() ? nullptr : spec_.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) {
      error = std::string("username/password: ") + mosquitto_strerror(rc);
      return false;
    }
  }
  if (spec_.tls) {
    const auto& t = *spec_.tls;
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    const char* ca_file = opt(t.ca_file);
    const char* ca_path = opt(t.ca_path);
    if (ca_file == nullptr && ca_path == nullptr) ca_path = "/etc/ssl/certs";
    int rc = mosquitto_tls_set(mosq_, ca_file, ca_path, opt(t.cert_file), opt(t.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      error = std::string("TLS setup: ") + mosquitto_strerror(rc) + " (check caFile, certFile and keyFile)";
      return false;
    }
    if (t.insecure) {
      spdlog::warn("connection \"{}\": TLS server certificate verification is OFF (tls.insecure)", spec_.name);
      mosquitto_tls_insecure_set(mosq_, true);
      mosquitto_tls_opts_set(mosq_, 0, nullptr, nullptr);
    }
  }
  started_ = true;
  connector_ = std::thread([this] { supervise(); });
  return true;
}

void MqttClient::report(const std::string& problem) {
  std::lock_guard lock(report_mu_);
  if (problem == last_problem_) return;
  last_problem_ = problem;
  spdlog::warn("connection \"{}\": {}", spec_.name, problem);
}

bool MqttClient::connect_until_up(std::unique_lock<std::mutex>& lock) {
  auto delay = std::chrono::milliseconds(spec_.reconnect_min_ms);
  while (!stopping_) {
    lock.unlock();  // a DNS lookup may take a while: stop() must not wait for it
    int rc = mosquitto_connect_async(mosq_, spec_.host.c_str(), spec_.port, spec_.keepalive);
    lock.lock();
    if (rc == MOSQ_ERR_SUCCESS) {
      rc = mosquitto_loop_start(mosq_);
      if (rc == MOSQ_ERR_SUCCESS) {
        loop_running_ = true;
        return true;
      }
      report(std::string("cannot start the MQTT thread: ") + mosquitto_strerror(rc));
    } else {
      report("cannot connect to " + spec_.host + ":" + std::to_string(spec_.port) + " (" +
             (rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc)) +
             "); retrying in the background");
    }
    wake_.wait_for(lock, delay, [&] { return stopping_; });
    delay = std::min(delay * 2, std::chrono::milliseconds(spec_.reconnect_max_ms));
  }
  return false;
}

void MqttClient::supervise() {
  std::unique_lock lock(mu_);
  if (!connect_until_up(lock)) return;
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || restart_; });
    if (stopping_) return;
    restart_ = false;
    // The network thread has returned (or is returning): join it, wait, start again.
    lock.unlock();
    mosquitto_loop_stop(mosq_, false);
    lock.lock();
    loop_running_ = false;
    wake_.wait_for(lock, std::chrono::milliseconds(spec_.reconnect_max_ms), [&] { return stopping_; });
    if (!connect_until_up(lock)) return;
  }
}

void MqttClient::stop() {
  if (!started_.exchange(false)) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  connector_.join();
  if (loop_running_) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    loop_running_ = false;
  }
  connected_ = false;
}

int MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                        const PublishProperties* properties, int* tracked_mid) {
  int mid = 0;
  mosquitto_property* props = nullptr;
  if (properties != nullptr && protocol_.load(std::memory_order_relaxed) == 5) {
    if (properties->message_expiry_s > 0) {
      mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, properties->message_expiry_s);
    }
    if (properties->content_type != nullptr) {
      mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, properties->content_type);
    }
    if (properties->user_properties != nullptr) {
      for (const auto& [k, v] : *properties->user_properties) {
        mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str());
      }
    }
  }
  // Held across the call so the PUBACK's on_publish (network thread) finds the id.
  std::lock_guard lock(in_flight_mu_);
  int rc = props != nullptr
               ? mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                      payload.data(), qos, retain, props)
               : mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, retain);
  mosquitto_property_free_all(&props);
  bool queued = rc == MOSQ_ERR_SUCCESS ||
                (qos > 0 && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST));
  if (queued) {
    published_.fetch_add(1, std::memory_order_relaxed);
    if (qos > 0) in_flight_.insert(mid);
    if (tracked_mid != nullptr) {
      *tracked_mid = mid;
      tracked_.insert(mid);
    }
  }
  return rc;
}

void MqttClient::take_completed(std::vector<std::pair<int, int>>& completed) {
  std::lock_guard lock(in_flight_mu_);
  completed.insert(completed.end(), completed_.begin(), completed_.end());
  completed_.clear();
}

size_t MqttClient::in_flight() const {
  std::lock_guard lock(in_flight_mu_);
  return in_flight_.size();
}

MqttCounters MqttClient::counters() const noexcept {
  return MqttCounters{received_.load(), connects_.load(), disconnects_.load(), published_.load(),
                      acked_.load()};
}

void MqttClient::on_connect(struct mosquitto* mosq, void* self_ptr, int rc) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  if (rc != 0) {
    if (self->spec_.mqtt_version == 0 && self->protocol_.load() == 5 &&
        (rc == 1 /* 3.1.1: unacceptable protocol version */ || rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION)) {
      spdlog::info("connection \"{}\": broker {}:{} does not speak MQTT 5; using 3.1.1", self->spec_.name,
                   self->spec_.host, self->spec_.port);
      self->protocol_ = 4;
      mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
      return;
    }
    // Codes from 0x80 up are MQTT 5 reason codes; below, 3.1.1 return codes.
    const bool unsupported = rc == 1 || rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION;
    spdlog::error("connection \"{}\": broker {}:{} refused the connection: {}{}", self->spec_.name,
                  self->spec_.host, self->spec_.port,
                  rc >= 0x80 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc),
                  unsupported && self->protocol_.load() == 5
                      ? " (the broker does not speak MQTT 5: set \"mqttVersion\" to \"auto\" or \"3.1.1\")"
                      : "");
    return;
  }
  self->connects_.fetch_add(1);
  self->since_connect_.store(0, std::memory_order_relaxed);
  // While connected, libmosquitto's log is only per-packet debug lines, and with a log
  // callback set it formats each of them (malloc + vsnprintf, several per message) before
  // the callback can ignore it: that was the largest user-space cost of the MQTT path.
  // Problems while connected end in on_disconnect, which turns the log back on for the
  // reconnect (where TLS and connection errors are only told through the log).
  mosquitto_log_callback_set(mosq, nullptr);
  {
    std::lock_guard lock(self->report_mu_);
    self->last_problem_.clear();  // the next problem is a change again
  }
  std::lock_guard subs_lock(self->subs_mu_);
  for (const auto& [filter, qos] : self->subscriptions_) {
    int src = mosquitto_subscribe(mosq, nullptr, filter.c_str(), qos);
    if (src != MOSQ_ERR_SUCCESS) {
      spdlog::error("connection \"{}\": subscribe to \"{}\" failed: {}", self->spec_.name, filter,
                    mosquitto_strerror(src));
    }
  }
  self->connected_.store(true, std::memory_order_release);
  spdlog::info("connection \"{}\": connected to {}:{} as \"{}\" (MQTT {}, {} subscription(s))",
               self->spec_.name, self->spec_.host, self->spec_.port, self->spec_.client_id,
               self->protocol_.load() == 5 ? "5" : "3.1.1", self->subscriptions_.size());
}

void MqttClient::on_disconnect(struct mosquitto* mosq, void* self_ptr, int rc) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  bool was = self->connected_.exchange(false);
  self->disconnects_.fetch_add(1);
  mosquitto_log_callback_set(mosq, &MqttClient::on_log);
  if (rc == 0) return;  // we asked for it
  if (was) {
    self->report("lost connection to " + self->spec_.host + ":" + std::to_string(self->spec_.port) +
                 " (" + mosquitto_strerror(rc) + "); reconnecting with back-off");
  }
  switch (rc) {
    // mosquitto_loop_forever returns on these instead of reconnecting: wake the supervisor.
    case MOSQ_ERR_NOMEM: case MOSQ_ERR_PROTOCOL: case MOSQ_ERR_INVAL: case MOSQ_ERR_NOT_FOUND:
    case MOSQ_ERR_TLS: case MOSQ_ERR_PAYLOAD_SIZE: case MOSQ_ERR_NOT_SUPPORTED: case MOSQ_ERR_AUTH:
    case MOSQ_ERR_ACL_DENIED: case MOSQ_ERR_UNKNOWN: case MOSQ_ERR_EAI: case MOSQ_ERR_PROXY: {
      self->report(std::string("connection failed: ") + mosquitto_strerror(rc) +
                   (rc == MOSQ_ERR_TLS ? " (is the server certificate signed by tls.caFile, and its name the host?)" : "") +
                   "; retrying");
      {
        std::lock_guard lock(self->mu_);
        self->restart_ = true;
      }
      self->wake_.notify_all();
      break;
    }
    default: break;
  }
}

void MqttClient::on_log(struct mosquitto*, void* self_ptr, int level, const char* text) {
  if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) == 0) return;
  static_cast<MqttClient*>(self_ptr)->report(std::string("libmosquitto: ") + text);
}

void MqttClient::on_message(struct mosquitto*, void* self_ptr, const struct mosquitto_message* msg) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  self->received_.fetch_add(1, std::memory_order_relaxed);
  Message m;
  m.connection = self->index_;
  m.topic = msg->topic;
  if (msg->payloadlen > 0) m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  m.received = self->clock_.now();
  m.qos = msg->qos;
  m.mid = static_cast<uint32_t>(msg->mid);
  m.since_connect = self->since_connect_.fetch_add(1, std::memory_order_relaxed);
  // May block when the processing queue is full; libmosquitto sends the PUBACK of a QoS 1
  // message only after this returns.
  self->handler_(std::move(m));
}

void MqttClient::on_publish(struct mosquitto*, void* self_ptr, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  std::lock_guard lock(self->in_flight_mu_);
  // QoS 0 publishes complete here too; only QoS 1/2 ids are in the set.
  if (self->in_flight_.erase(mid) > 0) self->acked_.fetch_add(1, std::memory_order_relaxed);
  if (self->tracked_.erase(mid) > 0) self->completed_.emplace_back(mid, reason);
}

void MqttClient::on_subscribe(struct mosquitto*, void* self_ptr, int, int count, const int* granted) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) {
      spdlog::error("connection \"{}\": the broker refused a subscription (no data will arrive for it; check the broker's ACL)",
                    self->spec_.name);
    }
  }
}

}  // namespace weir::ingest
