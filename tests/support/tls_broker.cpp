#include "support/tls_broker.hpp"

#include <sys/stat.h>

#include <stdexcept>
#include <vector>

namespace weir::test {

namespace {
void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
}
}  // namespace

void make_certificates(const TempDir& dir) {
  auto f = [&](const std::string& n) { return dir.file(n); };
  for (const std::string ca : {"ca", "other-ca"}) {
    openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=weir test " + ca,
             "-keyout", f(ca + ".key"), "-out", f(ca + ".pem")});
  }
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f("server.key"), "-out",
           f("server.csr")});
  dir.write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl({"x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
           "-days", "2", "-extfile", f("ext.cnf"), "-out", f("server.pem")});
}

TlsBroker::TlsBroker(const TempDir& dir, const std::string& user, const std::string& password,
                     const std::string& global_config)
    : tls_port_(free_port()) {
  make_certificates(dir);
  auto r = run_command({"/usr/bin/mosquitto_passwd", "-b", "-c", dir.file("passwd"), user, password});
  if (r.exit_code != 0) throw std::runtime_error("mosquitto_passwd failed: " + r.err);
  // mosquitto started as root drops to the "mosquitto" user: let it read the files.
  chmod(dir.path().c_str(), 0755);
  for (const char* f : {"passwd", "ca.pem", "server.pem", "server.key"}) chmod(dir.file(f).c_str(), 0644);
  broker_ = std::make_unique<MosquittoBroker>(
      dir,
      "listener " + std::to_string(tls_port_) + " 127.0.0.1\n" + "allow_anonymous false\npassword_file " +
          dir.file("passwd") + "\n" + "cafile " + dir.file("ca.pem") + "\ncertfile " + dir.file("server.pem") +
          "\n" + "keyfile " + dir.file("server.key") + "\n",
      "per_listener_settings true\n" + global_config);
  if (!wait_until([&] { return port_accepts(tls_port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error("the TLS listener does not accept connections:\n" + broker_->log());
  }
}

void TlsBroker::start() {
  broker_->start();
  wait_until([&] { return port_accepts(tls_port_); }, std::chrono::seconds(10));
}

}  // namespace weir::test
