// A mosquitto with a TLS listener (user and password required) next to its plain loopback
// listener, and the throwaway certificates it needs, made with openssl: ca.pem (trusted),
// other-ca.pem (an unrelated CA) and server.pem for 127.0.0.1 signed by ca.pem.
#pragma once

#include <memory>
#include <string>

#include "support/mosquitto_broker.hpp"
#include "support/process.hpp"

namespace weir::test {

// Writes ca.pem/ca.key, other-ca.pem/other-ca.key and server.pem/server.key into dir.
void make_certificates(const TempDir& dir);

class TlsBroker {
 public:
  // user/password: the only account the TLS listener accepts. global_config as for
  // MosquittoBroker (persistence, for instance).
  explicit TlsBroker(const TempDir& dir, const std::string& user = "gateway",
                     const std::string& password = "s3cret", const std::string& global_config = "");
  int plain_port() const { return broker_->port(); }
  int tls_port() const { return tls_port_; }
  std::string log() const { return broker_->log(); }
  void stop() { broker_->stop(); }
  void start();

 private:
  int tls_port_;
  std::unique_ptr<MosquittoBroker> broker_;
};

}  // namespace weir::test
