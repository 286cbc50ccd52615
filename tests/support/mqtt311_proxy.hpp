// A broker that speaks only MQTT 3.1.1, made from a real mosquitto: a TCP proxy on
// 127.0.0.1 that reads each client's CONNECT, refuses protocol level 5 the way an older
// broker does, and relays every other connection to the mosquitto behind it unchanged.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace weir::test {

class Mqtt311Proxy {
 public:
  enum class Refusal {
    kV311Connack,  // CONNACK as 3.1.1 writes it: return code 1, unacceptable protocol version
    kV5Connack,    // CONNACK as MQTT 5 writes it: reason code 0x84, unsupported protocol version
  };
  Mqtt311Proxy(int upstream_port, Refusal refusal);
  ~Mqtt311Proxy();
  Mqtt311Proxy(const Mqtt311Proxy&) = delete;
  Mqtt311Proxy& operator=(const Mqtt311Proxy&) = delete;

  int port() const noexcept { return port_; }
  int refused() const noexcept { return refused_.load(); }  // MQTT 5 CONNECTs refused
  int relayed() const noexcept { return relayed_.load(); }  // connections passed on

 private:
  void accept_loop();
  void serve(int client);

  int upstream_port_;
  Refusal refusal_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0}, relayed_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
};

}  // namespace weir::test
