// A libmosquitto subscriber that keeps every message it receives, for assertions.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace weir::test {

struct Received {
  std::string topic;
  std::string payload;
  bool retained = false;
  // MQTT 5 only: user properties, content type and the message expiry left.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string content_type;
  uint32_t expiry_s = 0;
  std::string property(const std::string& name) const {
    for (const auto& [k, v] : properties) {
      if (k == name) return v;
    }
    return {};
  }
};

struct CollectorOptions {
  std::string client_id;  // non-empty: persistent session
  bool mqtt5 = false;
};

class MqttCollector {
 public:
  // Connects to 127.0.0.1:port, subscribes to the filters (QoS 1) and waits for SUBACK.
  // With a client_id the session is persistent (clean session off): with a broker that keeps
  // sessions, nothing sent while the collector reconnects after a broker restart is missed.
  MqttCollector(int port, const std::vector<std::string>& filters, const std::string& client_id = "");
  MqttCollector(int port, const std::vector<std::string>& filters, const CollectorOptions& options);
  ~MqttCollector();

  size_t count() const;
  size_t count_prefix(const std::string& topic_prefix) const;
  std::vector<Received> messages() const;
  // Publishes one message and waits until it left (QoS 1: acknowledged).
  void publish(const std::string& topic, const std::string& payload, int qos = 1);

 private:
  static void on_message(struct mosquitto*, void*, const ::mosquitto_message*);
  static void on_message_v5(struct mosquitto*, void*, const ::mosquitto_message*, const struct mqtt5__property*);
  static void on_subscribe(struct mosquitto*, void*, int, int, const int*);
  static void on_publish(struct mosquitto*, void*, int);
  struct mosquitto* mosq_ = nullptr;
  mutable std::mutex mu_;
  std::vector<Received> messages_;
  int subacks_ = 0;
  int published_ = 0;
};

}  // namespace weir::test
