// Ingest over TLS with a user and password: a throwaway CA made with openssl, mosquitto with
// a TLS listener (password file) and a plain loopback listener for the test's own client.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/mosquitto_broker.hpp"
#include "support/mqtt_collector.hpp"
#include "support/process.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Makes ca.pem/ca.key, a second unrelated CA other-ca.pem, and server.pem/server.key for
// 127.0.0.1 signed by ca.pem.
void make_certificates(const TempDir& dir) {
  auto f = [&](const char* n) { return dir.file(n); };
  for (const char* ca : {"ca", "other-ca"}) {
    openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             std::string("/CN=weir test ") + ca, "-keyout", f((std::string(ca) + ".key").c_str()),
             "-out", f((std::string(ca) + ".pem").c_str())});
  }
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
           f("server.key"), "-out", f("server.csr")});
  dir.write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl({"x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
           "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("server.pem")});
}

class SecureBroker {
 public:
  explicit SecureBroker(const TempDir& dir) : tls_port_(free_port()) {
    make_certificates(dir);
    auto r = run_command({"/usr/bin/mosquitto_passwd", "-b", "-c", dir.file("passwd"), "gateway", "s3cret"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // mosquitto started as root drops to the "mosquitto" user: let it read the files.
    chmod(dir.path().c_str(), 0755);
    for (const char* f : {"passwd", "ca.pem", "server.pem", "server.key"}) chmod(dir.file(f).c_str(), 0644);
    std::string extra = "per_listener_settings true\n";
    broker_ = std::make_unique<MosquittoBroker>(
        dir, "listener " + std::to_string(tls_port_) + " 127.0.0.1\n"
             "allow_anonymous false\npassword_file " + dir.file("passwd") + "\n"
             "cafile " + dir.file("ca.pem") + "\ncertfile " + dir.file("server.pem") + "\n"
             "keyfile " + dir.file("server.key") + "\n",
        extra);
    EXPECT_TRUE(wait_until([&] { return port_accepts(tls_port_); }, std::chrono::seconds(10)));
  }
  int plain_port() const { return broker_->port(); }
  int tls_port() const { return tls_port_; }
  std::string log() const { return broker_->log(); }

 private:
  int tls_port_;
  std::unique_ptr<MosquittoBroker> broker_;
};

std::string secure_config(const TempDir& dir, int port, const std::string& ca) {
  json cfg = {
      {"connections", {{"secure", {{"type", "mqtt"}, {"host", "127.0.0.1"}, {"port", port}, {"clientId", "weir-tls"},
                                   {"username", "gateway"}, {"passwordEnv", "WEIR_TEST_MQTT_PASSWORD"},
                                   {"reconnectMinMs", 100}, {"reconnectMaxMs", 500},
                                   {"tls", {{"caFile", dir.file(ca.c_str())}}}}}}},
      {"pipelines", json::array({{{"name", "pass"},
                                  {"pipeline", json::array({{{"$source", {{"connectionName", "secure"}, {"topic", "in/+d"}}}},
                                                            {{"$emit", {{"connectionName", "secure"}, {"topic", "out/{d}"}}}}})}}})}};
  return cfg.dump();
}

TEST(Security, TlsWithPasswordCarriesReadings) {
  TempDir dir;
  SecureBroker broker(dir);
  MqttCollector collector(broker.plain_port(), {"out/#"});
  setenv("WEIR_TEST_MQTT_PASSWORD", "s3cret", 1);
  dir.write("weir.json", secure_config(dir, broker.tls_port(), "ca.pem"));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("connected to") != std::string::npos; },
                         std::chrono::seconds(15)))
      << weir.log() << broker.log();
  collector.publish("in/a", R"({"v":1})");
  ASSERT_TRUE(wait_until([&] { return collector.count() == 1; }, std::chrono::seconds(10))) << weir.log();
  EXPECT_EQ(collector.messages()[0].payload, R"({"v":1,"d":"a"})");
  EXPECT_EQ(weir.log().find("s3cret"), std::string::npos) << "the password must never be logged";
}

TEST(Security, WrongPasswordIsRefusedWithAClearError) {
  TempDir dir;
  SecureBroker broker(dir);
  setenv("WEIR_TEST_MQTT_PASSWORD", "wrong-password", 1);
  dir.write("weir.json", secure_config(dir, broker.tls_port(), "ca.pem"));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("refused the connection") != std::string::npos; },
                         std::chrono::seconds(15)))
      << weir.log();
  EXPECT_NE(weir.log().find("not authorised"), std::string::npos) << weir.log();
  EXPECT_EQ(weir.log().find("wrong-password"), std::string::npos);
  EXPECT_TRUE(weir.running());
}

TEST(Security, UntrustedServerCertificateIsRefused) {
  TempDir dir;
  SecureBroker broker(dir);
  setenv("WEIR_TEST_MQTT_PASSWORD", "s3cret", 1);
  dir.write("weir.json", secure_config(dir, broker.tls_port(), "other-ca.pem"));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("certificate verify failed") != std::string::npos; },
                         std::chrono::seconds(15)))
      << weir.log();
  // weir keeps trying (the certificate may be fixed on the broker's side), quietly.
  auto attempts = [&] {
    std::string log = broker.log();
    size_t n = 0;
    for (size_t p = log.find("New connection from"); p != std::string::npos; p = log.find("New connection from", p + 1)) ++n;
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return attempts() >= 3; }, std::chrono::seconds(20))) << broker.log();
  EXPECT_EQ(weir.log().find("connected to"), std::string::npos) << weir.log();
  EXPECT_TRUE(weir.running()) << weir.log();
}

}  // namespace
}  // namespace weir::test
