// weir as a long-running client: persistent sessions across restarts, reconnect after a
// broker restart, back-pressure with a tiny queue, and shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/mosquitto_broker.hpp"
#include "support/mqtt_collector.hpp"
#include "support/process.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

std::string passthrough_config(int port, int queue_capacity = 1000) {
  json cfg = {
      {"connections", {{"local", {{"type", "mqtt"}, {"port", port}, {"clientId", "weir-svc"}, {"reconnectMinMs", 100}, {"reconnectMaxMs", 1000}}}}},
      {"engine", {{"queueCapacity", queue_capacity}}},
      {"pipelines",
       json::array({{{"name", "pass"},
                     {"pipeline",
                      json::array({{{"$source", {{"connectionName", "local"}, {"topic", "in/+device"}}}},
                                   {{"$emit", {{"connectionName", "local"}, {"topic", "out/{device}"}}}}})}}})}};
  return cfg.dump();
}

size_t count_occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

Process start_weir(const TempDir& dir, const std::string& log_name) {
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file(log_name));
  EXPECT_TRUE(wait_until([&] { return weir.log().find("connected to") != std::string::npos; },
                         std::chrono::seconds(10)))
      << weir.log();
  return weir;
}

TEST(Service, BrokerKeepsSessionWhileWeirIsStopped) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"out/#"});
  dir.write("weir.json", passthrough_config(broker.port()));
  {
    Process weir = start_weir(dir, "weir1.log");
    for (int i = 0; i < 10; ++i) collector.publish("in/a", R"({"i":)" + std::to_string(i) + "}");
    ASSERT_TRUE(wait_until([&] { return collector.count() == 10; }, std::chrono::seconds(10)));
    ASSERT_EQ(weir.stop(), 0) << weir.log();
  }
  // weir is down: the broker queues these for its persistent session.
  for (int i = 10; i < 30; ++i) collector.publish("in/b", R"({"i":)" + std::to_string(i) + "}");
  Process weir = start_weir(dir, "weir2.log");
  ASSERT_TRUE(wait_until([&] { return collector.count() == 30; }, std::chrono::seconds(10)))
      << collector.count() << "\n" << weir.log();
  auto msgs = collector.messages();
  for (int i = 0; i < 30; ++i) {
    json doc = json::parse(msgs[static_cast<size_t>(i)].payload);
    EXPECT_EQ(doc.at("i"), i);
    EXPECT_EQ(doc.at("device"), i < 10 ? "a" : "b");
  }
}

TEST(Service, ReconnectsAndResubscribesAfterBrokerRestart) {
  TempDir dir;
  MosquittoBroker broker(dir);
  dir.write("weir.json", passthrough_config(broker.port()));
  Process weir = start_weir(dir, "weir.log");
  broker.stop();
  ASSERT_TRUE(wait_until([&] { return weir.log().find("lost connection") != std::string::npos; },
                         std::chrono::seconds(10)))
      << weir.log();
  broker.start();
  ASSERT_TRUE(wait_until([&] { return count_occurrences(weir.log(), "connected to") >= 2; },
                         std::chrono::seconds(15)))
      << weir.log();
  MqttCollector collector(broker.port(), {"out/#"});
  collector.publish("in/x", R"({"v":1})");
  ASSERT_TRUE(wait_until([&] { return collector.count() == 1; }, std::chrono::seconds(10))) << weir.log();
  EXPECT_TRUE(weir.running());
}

TEST(Service, TinyQueueAppliesBackPressureWithoutLoss) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"out/#"});
  dir.write("weir.json", passthrough_config(broker.port(), 1));
  Process weir = start_weir(dir, "weir.log");
  auto sim = run_command({WEIR_SIM_EXE, "--port", std::to_string(broker.port()), "--devices", "10",
                          "--count", "5000", "--rate", "0", "--topic", "in/{device}", "--quiet"},
                         std::chrono::minutes(2));
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  ASSERT_TRUE(wait_until([&] { return collector.count() >= 5000; }, std::chrono::seconds(60)))
      << collector.count() << "\n" << weir.log();
  wait_until([] { return false; }, std::chrono::milliseconds(300));
  EXPECT_EQ(collector.count(), 5000u);
}

TEST(Service, StopsCleanlyOnSigintAndSigterm) {
  for (int sig : {SIGINT, SIGTERM}) {
    TempDir dir;
    MosquittoBroker broker(dir);
    dir.write("weir.json", passthrough_config(broker.port()));
    Process weir = start_weir(dir, "weir.log");
    auto t0 = std::chrono::steady_clock::now();
    weir.signal(sig);
    auto code = weir.wait(std::chrono::seconds(2));
    ASSERT_TRUE(code.has_value()) << "still running 2 s after signal " << sig << "\n" << weir.log();
    EXPECT_EQ(*code, 0) << weir.log();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    EXPECT_NE(weir.log().find("stopped:"), std::string::npos) << weir.log();
  }
}

TEST(Service, StartsBeforeTheBrokerAndConnectsWhenItComes) {
  TempDir dir;
  MosquittoBroker broker(dir);
  broker.stop();
  dir.write("weir.json", passthrough_config(broker.port()));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("retrying") != std::string::npos || !weir.running(); },
                         std::chrono::seconds(10)))
      << weir.log();
  ASSERT_TRUE(weir.running()) << weir.log();
  broker.start();
  ASSERT_TRUE(wait_until([&] { return weir.log().find("connected to") != std::string::npos; },
                         std::chrono::seconds(15)))
      << weir.log();
}

// Detector state is checkpointed at a clean stop and restored at start: an alert raised
// before a restart is cleared after it, with the same id.
TEST(Service, AnActiveAlertSurvivesACleanRestart) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"alerts/#"});
  json cfg = {
      {"connections", {{"local", {{"type", "mqtt"}, {"port", broker.port()}, {"clientId", "weir-state"}}}}},
      {"state", {{"path", dir.file("weir.db")}}},
      {"pipelines",
       json::array({{{"name", "watch"},
                     {"pipeline",
                      json::array({{{"$source", {{"connectionName", "local"}, {"topic", "in/+device"}}}},
                                   {{"$detect", {{"partitionBy", "$device"}, {"field", "v"},
                                                 {"methods", {{"threshold", {{"max", 50}}}}},
                                                 {"alerts", {{"topic", "alerts/{device}"}}}}}},
                                   {{"$emit", {{"connectionName", "local"}, {"topic", "out/{device}"}}}}})}}})}};
  dir.write("weir.json", cfg.dump());
  {
    Process weir = start_weir(dir, "weir1.log");
    collector.publish("in/a", R"({"v": 60})");
    ASSERT_TRUE(wait_until([&] { return collector.count() == 1; }, std::chrono::seconds(10))) << weir.log();
    ASSERT_EQ(weir.stop(), 0) << weir.log();
  }
  auto st = run_command({WEIR_EXE, "state", "--db", dir.file("weir.db")});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("pipeline \"watch\" stage 1 $detect: 2 entries"), std::string::npos) << st.out;
  Process weir = start_weir(dir, "weir2.log");
  EXPECT_NE(weir.log().find("state: 2 entries restored"), std::string::npos) << weir.log();
  collector.publish("in/a", R"({"v": 10})");
  ASSERT_TRUE(wait_until([&] { return collector.count() == 2; }, std::chrono::seconds(10))) << weir.log();
  auto msgs = collector.messages();
  json raised = json::parse(msgs[0].payload), cleared = json::parse(msgs[1].payload);
  EXPECT_EQ(raised["state"], "raised");
  EXPECT_EQ(cleared["state"], "cleared");
  EXPECT_EQ(cleared["alertId"], raised["alertId"]);
}

}  // namespace
}  // namespace weir::test
