#include "ingest/mqtt/mqtt_client.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

namespace weir::ingest {

namespace {
TimeMs wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

void mqtt_library_init() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

MqttClient::MqttClient(const config::ConnectionSpec& spec, uint32_t index, MessageHandler handler)
    : spec_(spec), index_(index), handler_(std::move(handler)) {
  mqtt_library_init();
  mosq_ = mosquitto_new(spec_.client_id.c_str(), spec_.clean_session, this);
  if (mosq_ == nullptr) throw std::runtime_error("mosquitto_new failed (out of memory)");
  mosquitto_connect_callback_set(mosq_, &MqttClient::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &MqttClient::on_disconnect);
  mosquitto_message_callback_set(mosq_, &MqttClient::on_message);
  mosquitto_publish_callback_set(mosq_, &MqttClient::on_publish);
  mosquitto_reconnect_delay_set(mosq_, static_cast<unsigned>((spec_.reconnect_min_ms + 999) / 1000),
                                static_cast<unsigned>((spec_.reconnect_max_ms + 999) / 1000), true);
  // Keep publishing fast: many QoS 1 messages may be in flight at once.
  mosquitto_max_inflight_messages_set(mosq_, 1000);
}

MqttClient::~MqttClient() {
  stop();
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

void MqttClient::add_subscription(std::string filter, int qos) {
  subscriptions_.emplace_back(std::move(filter), qos);
}

bool MqttClient::start(std::string& error) {
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
  connector_ = std::thread([this] { connect_until_up(); });
  return true;
}

void MqttClient::connect_until_up() {
  auto delay = std::chrono::milliseconds(spec_.reconnect_min_ms);
  bool warned = false;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();  // a DNS lookup may take a while: stop() must not wait for it
    int rc = mosquitto_connect_async(mosq_, spec_.host.c_str(), spec_.port, spec_.keepalive);
    lock.lock();
    if (rc == MOSQ_ERR_SUCCESS) {
      rc = mosquitto_loop_start(mosq_);
      if (rc != MOSQ_ERR_SUCCESS) {
        spdlog::error("connection \"{}\": cannot start the MQTT thread: {}", spec_.name, mosquitto_strerror(rc));
        return;
      }
      loop_running_ = true;
      return;
    }
    if (!warned) {
      // One line per state change, not per retry.
      spdlog::warn("connection \"{}\": cannot connect to {}:{} ({}); retrying in the background",
                   spec_.name, spec_.host, spec_.port,
                   rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc));
      warned = true;
    }
    wake_.wait_for(lock, delay, [&] { return stopping_; });
    delay = std::min(delay * 2, std::chrono::milliseconds(spec_.reconnect_max_ms));
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

int MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, retain);
  if (rc == MOSQ_ERR_SUCCESS) {
    published_.fetch_add(1, std::memory_order_relaxed);
    if (qos > 0) in_flight_.fetch_add(1, std::memory_order_relaxed);
  }
  return rc;
}

MqttCounters MqttClient::counters() const noexcept {
  return MqttCounters{received_.load(), connects_.load(), disconnects_.load(), published_.load(),
                      acked_.load()};
}

void MqttClient::on_connect(struct mosquitto* mosq, void* self_ptr, int rc) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  if (rc != 0) {
    spdlog::error("connection \"{}\": broker {}:{} refused the connection: {}", self->spec_.name,
                  self->spec_.host, self->spec_.port, mosquitto_connack_string(rc));
    return;
  }
  self->connects_.fetch_add(1);
  for (const auto& [filter, qos] : self->subscriptions_) {
    int src = mosquitto_subscribe(mosq, nullptr, filter.c_str(), qos);
    if (src != MOSQ_ERR_SUCCESS) {
      spdlog::error("connection \"{}\": subscribe to \"{}\" failed: {}", self->spec_.name, filter,
                    mosquitto_strerror(src));
    }
  }
  // Publishes that were in flight are resent by libmosquitto; count them from zero.
  self->in_flight_.store(0);
  self->connected_.store(true, std::memory_order_release);
  spdlog::info("connection \"{}\": connected to {}:{} as \"{}\" ({} subscription(s))",
               self->spec_.name, self->spec_.host, self->spec_.port, self->spec_.client_id,
               self->subscriptions_.size());
}

void MqttClient::on_disconnect(struct mosquitto*, void* self_ptr, int rc) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  bool was = self->connected_.exchange(false);
  self->disconnects_.fetch_add(1);
  if (rc != 0 && was) {
    spdlog::warn("connection \"{}\": lost connection to {}:{} ({}); reconnecting with back-off",
                 self->spec_.name, self->spec_.host, self->spec_.port, mosquitto_strerror(rc));
  }
}

void MqttClient::on_message(struct mosquitto*, void* self_ptr, const struct mosquitto_message* msg) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  self->received_.fetch_add(1, std::memory_order_relaxed);
  Message m;
  m.connection = self->index_;
  m.topic = msg->topic;
  if (msg->payloadlen > 0) m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  m.received = wall_ms();
  m.qos = msg->qos;
  // May block when the processing queue is full; libmosquitto sends the PUBACK of a QoS 1
  // message only after this returns.
  self->handler_(std::move(m));
}

void MqttClient::on_publish(struct mosquitto*, void* self_ptr, int) {
  auto* self = static_cast<MqttClient*>(self_ptr);
  self->acked_.fetch_add(1, std::memory_order_relaxed);
  if (self->in_flight_.load(std::memory_order_relaxed) > 0) {
    self->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace weir::ingest
