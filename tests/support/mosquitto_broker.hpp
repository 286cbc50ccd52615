// The real mosquitto broker on 127.0.0.1 and a free port, for integration tests. Its queue
// limits are raised: mosquitto's defaults (max_queued_messages 1000) silently drop even
// QoS 1 messages for a subscriber that falls behind.
#pragma once

#include <memory>
#include <string>

#include "support/process.hpp"

namespace weir::test {

class MosquittoBroker {
 public:
  // Starts the broker and waits until it accepts connections (throws on failure).
  // extra_config is appended after the plain listener (more listeners, options);
  // global_config goes before it (options such as per_listener_settings).
  explicit MosquittoBroker(const TempDir& dir, const std::string& extra_config = "",
                           const std::string& global_config = "");
  ~MosquittoBroker();
  int port() const noexcept { return port_; }
  std::string log() const { return process_.log(); }
  // Stops (SIGTERM) and starts the broker on the same port. Sessions survive only with
  // "persistence true" and a persistence_location in global_config.
  void stop();
  void start();

 private:
  std::string config_file_;
  std::string log_file_;
  int port_ = 0;
  Process process_;
};

// A port on 127.0.0.1 that was free a moment ago.
int free_port();
// True when a TCP connection to 127.0.0.1:port succeeds.
bool port_accepts(int port);

}  // namespace weir::test
