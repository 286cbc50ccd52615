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
#include "support/tls_broker.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

using SecureBroker = TlsBroker;

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
