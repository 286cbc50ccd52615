#include "support/mqtt_collector.hpp"

#include <mosquitto.h>

#include <stdexcept>

#include "support/process.hpp"

namespace weir::test {

MqttCollector::MqttCollector(int port, const std::vector<std::string>& filters, const std::string& client_id) {
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.empty() ? nullptr : client_id.c_str(), client_id.empty(), this);
  mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
  mosquitto_message_callback_set(mosq_, &MqttCollector::on_message);
  mosquitto_subscribe_callback_set(mosq_, &MqttCollector::on_subscribe);
  mosquitto_publish_callback_set(mosq_, &MqttCollector::on_publish);
  if (mosquitto_connect(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
    throw std::runtime_error("collector: cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  for (const auto& f : filters) mosquitto_subscribe(mosq_, nullptr, f.c_str(), 1);
  mosquitto_loop_start(mosq_);
  int want = static_cast<int>(filters.size());
  if (!wait_until([&] { std::lock_guard l(mu_); return subacks_ >= want; },
                  std::chrono::milliseconds(10000))) {
    throw std::runtime_error("collector: no SUBACK");
  }
}

MqttCollector::~MqttCollector() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

size_t MqttCollector::count() const {
  std::lock_guard l(mu_);
  return messages_.size();
}

size_t MqttCollector::count_prefix(const std::string& prefix) const {
  std::lock_guard l(mu_);
  size_t n = 0;
  for (const auto& m : messages_) n += m.topic.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

std::vector<Received> MqttCollector::messages() const {
  std::lock_guard l(mu_);
  return messages_;
}

void MqttCollector::publish(const std::string& topic, const std::string& payload, int qos) {
  int before;
  {
    std::lock_guard l(mu_);
    before = published_;
  }
  mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false);
  wait_until([&] { std::lock_guard l(mu_); return published_ > before; }, std::chrono::milliseconds(10000));
}

void MqttCollector::on_message(struct mosquitto*, void* self, const ::mosquitto_message* m) {
  auto* c = static_cast<MqttCollector*>(self);
  std::lock_guard l(c->mu_);
  c->messages_.push_back({m->topic, std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)), m->retain});
}

void MqttCollector::on_subscribe(struct mosquitto*, void* self, int, int, const int*) {
  auto* c = static_cast<MqttCollector*>(self);
  std::lock_guard l(c->mu_);
  ++c->subacks_;
}

void MqttCollector::on_publish(struct mosquitto*, void* self, int) {
  auto* c = static_cast<MqttCollector*>(self);
  std::lock_guard l(c->mu_);
  ++c->published_;
}

}  // namespace weir::test
