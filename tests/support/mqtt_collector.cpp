#include "support/mqtt_collector.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <cstdlib>

#include <stdexcept>

#include "support/process.hpp"

namespace weir::test {

MqttCollector::MqttCollector(int port, const std::vector<std::string>& filters, const std::string& client_id)
    : MqttCollector(port, filters, CollectorOptions{client_id, false}) {}

MqttCollector::MqttCollector(int port, const std::vector<std::string>& filters, const CollectorOptions& options) {
  const std::string& client_id = options.client_id;
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.empty() ? nullptr : client_id.c_str(), client_id.empty(), this);
  mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
  if (options.mqtt5) {
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_message_v5_callback_set(mosq_, &MqttCollector::on_message_v5);
  } else {
    mosquitto_message_callback_set(mosq_, &MqttCollector::on_message);
  }
  mosquitto_subscribe_callback_set(mosq_, &MqttCollector::on_subscribe);
  mosquitto_publish_callback_set(mosq_, &MqttCollector::on_publish);
  // MQTT 5 with a client id: a session that outlives the connection (and a broker restart
  // with persistence). libmosquitto sends the property only with this first CONNECT.
  mosquitto_property* props = nullptr;
  if (options.mqtt5 && !client_id.empty()) {
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
  }
  const int rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 30, nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
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
  c->messages_.push_back({m->topic, std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)),
                          m->retain, {}, {}, 0});
}

void MqttCollector::on_message_v5(struct mosquitto*, void* self, const ::mosquitto_message* m,
                                  const mosquitto_property* props) {
  Received r{m->topic, std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)),
             m->retain, {}, {}, 0};
  for (const mosquitto_property* p = props; p != nullptr; p = mosquitto_property_next(p)) {
    const int id = mosquitto_property_identifier(p);
    if (id == MQTT_PROP_USER_PROPERTY) {
      char* k = nullptr;
      char* v = nullptr;
      if (mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &k, &v, false) != nullptr) {
        r.properties.emplace_back(k, v);
      }
      free(k);
      free(v);
    } else if (id == MQTT_PROP_CONTENT_TYPE) {
      char* v = nullptr;
      if (mosquitto_property_read_string(p, MQTT_PROP_CONTENT_TYPE, &v, false) != nullptr) r.content_type = v;
      free(v);
    } else if (id == MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) {
      mosquitto_property_read_int32(p, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &r.expiry_s, false);
    }
  }
  auto* c = static_cast<MqttCollector*>(self);
  std::lock_guard l(c->mu_);
  c->messages_.push_back(std::move(r));
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
