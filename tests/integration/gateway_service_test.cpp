// weir as a systemd service: the metrics endpoint scraped during a run and checked against
// what was sent, /healthz and /readyz (also with the broker gone), the sd_notify protocol
// (READY, WATCHDOG from the processing loop, STATUS, STOPPING) against a notify socket the
// test holds, journald's log form, and the unit file checked by systemd-analyze.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/http_get.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/mqtt_collector.hpp"
#include "support/process.hpp"
#include "support/window_truth.hpp"
#include "weir/time.hpp"

namespace weir::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json service_config(int port, int metrics_port) {
  json cfg = {
      {"connections", {{"local", {{"type", "mqtt"}, {"port", port}, {"clientId", "weir-gw"}, {"reconnectMinMs", 100},
                                  {"reconnectMaxMs", 500}}}}},
      {"pipelines",
       json::array(
           {{{"name", "pass"},
             {"dlq", {{"connectionName", "local"}, {"topic", "dlq/pass"}}},
             {"pipeline", json::array({{{"$source", {{"connectionName", "local"}, {"topic", "in/+device"}}}},
                                       {{"$match", {{"v", {{"$gte", 0}}}}}},
                                       {{"$emit", {{"connectionName", "local"}, {"topic", "out/{device}"}}}}})}},
            {{"name", "win"},
             {"pipeline",
              json::array({{{"$source", {{"connectionName", "local"}, {"topic", "in/+device"}, {"timeField", "ts"}}}},
                           {{"$tumblingWindow",
                             {{"interval", {{"size", 1}, {"unit", "second"}}},
                              {"pipeline", json::array({{{"$group", {{"_id", "$device"}, {"n", {{"$count", json::object()}}}}}}})}}}},
                           {{"$emit", {{"connectionName", "local"}, {"topic", "agg/{_id}"}}}}})}}})}};
  if (metrics_port > 0) cfg["metrics"] = {{"port", metrics_port}};
  return cfg;
}

TEST(GatewayService, MetricsCountWhatWasSentAndHealthFollowsTheBroker) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"out/#", "dlq/#"});
  const int mport = free_port();
  dir.write("weir.json", service_config(broker.port(), mport).dump());
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return http_get(mport, "/readyz").status == 200; }, 15s)) << weir.log();
  EXPECT_EQ(http_get(mport, "/healthz").status, 200);

  // 40 readings pass, 5 are filtered by $match, 3 are not JSON (dead letters, both pipelines).
  const int64_t t0 = 1767225600000;
  for (int i = 0; i < 45; ++i) {
    const int v = i < 40 ? i : -1;
    collector.publish("in/d" + std::to_string(i % 4),
                      R"({"ts":)" + std::to_string(t0 + i * 100) + R"(,"v":)" + std::to_string(v) + "}");
  }
  for (int i = 0; i < 3; ++i) collector.publish("in/d0", "not json");
  ASSERT_TRUE(wait_until([&] { return collector.count() >= 40 + 3; }, 10s)) << weir.log();  // "win" has no DLQ

  std::map<std::string, double> m;
  ASSERT_TRUE(wait_until([&] {
    m = parse_metrics(http_get(mport, "/metrics").body);
    return m["weir_messages_total"] >= 48;
  }, 10s)) << weir.log();
  EXPECT_EQ(m["weir_messages_total"], 48);
  EXPECT_EQ(m["weir_readings_in_total{pipeline=\"pass\"}"], 45);
  EXPECT_EQ(m["weir_readings_filtered_total{pipeline=\"pass\"}"], 5);
  EXPECT_EQ(m["weir_outputs_total{pipeline=\"pass\"}"], 40);
  EXPECT_EQ(m["weir_dead_letters_total{pipeline=\"pass\",reason=\"malformed\"}"], 3);
  EXPECT_EQ(m["weir_dead_letters_total{pipeline=\"win\",reason=\"malformed\"}"], 3);
  EXPECT_EQ(m["weir_readings_in_total{pipeline=\"win\"}"], 45);
  EXPECT_EQ(m["weir_late_readings_total{pipeline=\"win\"}"], 0);
  // Four devices hold an open window; the watermark is the last event time.
  EXPECT_EQ(m["weir_open_groups{pipeline=\"win\",stage=\"1\",kind=\"$tumblingWindow\"}"], 4);
  EXPECT_GT(m.count("weir_watermark_lag_seconds{pipeline=\"win\",stage=\"1\",kind=\"$tumblingWindow\"}"), 0u);
  EXPECT_EQ(m["weir_connection_up{connection=\"local\",type=\"mqtt\"}"], 1);
  EXPECT_EQ(m["weir_connection_received_total{connection=\"local\"}"], 48);
  EXPECT_EQ(m["weir_queue_capacity"], 10000);
  EXPECT_GT(m["process_resident_memory_bytes"], 1e6);
  EXPECT_GT(m["process_cpu_seconds_total"], 0);

  // The broker goes away: not ready (with the reason), still alive.
  broker.stop();
  HttpReply r;
  ASSERT_TRUE(wait_until([&] {
    r = http_get(mport, "/readyz");
    return r.status == 503;
  }, 10s)) << weir.log();
  EXPECT_NE(r.body.find("connection \"local\" is not connected"), std::string::npos) << r.body;
  EXPECT_EQ(http_get(mport, "/healthz").status, 200);
  broker.start();
  EXPECT_TRUE(wait_until([&] { return http_get(mport, "/readyz").status == 200; }, 15s)) << weir.log();
  EXPECT_TRUE(wait_until([&] {
    return parse_metrics(http_get(mport, "/metrics").body)["weir_connection_reconnects_total{connection=\"local\"}"] >= 1;
  }, 5s));
  EXPECT_EQ(weir.stop(), 0) << weir.log();
}

// A sample's value in a published metrics document; -1 when there is none.
double sample(const json& doc, const std::string& name, const json& labels = json::object()) {
  if (!doc.contains("metrics") || !doc["metrics"].contains(name)) return -1;
  for (const auto& s : doc["metrics"][name]["samples"]) {
    if (s["labels"] == labels) return s["value"].get<double>();
  }
  return -1;
}

TEST(GatewayService, MetricsArePublishedAsJsonToAnMqttTopic) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"out/#", "dlq/#"});
  MqttCollector metrics(broker.port(), {"weir/gw/metrics"}, CollectorOptions{"", true});
  json cfg = service_config(broker.port(), 0);
  // A publish-only connection (MQTT 5) carries the metrics, retained, every second; no
  // HTTP endpoint.
  cfg["connections"]["up"] = {{"type", "mqtt"}, {"port", broker.port()}, {"clientId", "weir-gw-up"}};
  cfg["metrics"] = {{"mqtt", {{"connectionName", "up"}, {"topic", "weir/gw/metrics"},
                              {"interval", {{"size", 1}, {"unit", "second"}}}, {"retain", true}}}};
  dir.write("weir.json", cfg.dump());
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));

  const int64_t t0 = 1767225600000;
  ASSERT_TRUE(wait_until([&] { return metrics.count() >= 1; }, 15s)) << weir.log();
  for (int i = 0; i < 30; ++i) {
    const int v = i < 25 ? i : -1;
    collector.publish("in/d" + std::to_string(i % 3),
                      R"({"ts":)" + std::to_string(t0 + i * 100) + R"(,"v":)" + std::to_string(v) + "}");
  }
  collector.publish("in/d0", "not json");
  ASSERT_TRUE(wait_until([&] { return collector.count() >= 25 + 1; }, 10s)) << weir.log();

  // A document published after everything was handled has the engine's counts.
  json doc;
  ASSERT_TRUE(wait_until([&] {
    const auto all = metrics.messages();
    doc = json::parse(all.back().payload);
    return sample(doc, "weir_messages_total") >= 31;
  }, 10s)) << weir.log();
  const auto all = metrics.messages();
  EXPECT_EQ(all.back().content_type, "application/json");
  EXPECT_GT(all.back().expiry_s, 0u);  // retained documents expire (three intervals)
  EXPECT_LE(all.back().expiry_s, 3u);
  EXPECT_EQ(doc["metrics"]["weir_messages_total"]["type"], "counter");
  EXPECT_EQ(sample(doc, "weir_messages_total"), 31);
  EXPECT_EQ(sample(doc, "weir_readings_in_total", {{"pipeline", "pass"}}), 30);  // "not json" is no reading
  EXPECT_EQ(sample(doc, "weir_readings_filtered_total", {{"pipeline", "pass"}}), 5);
  EXPECT_EQ(sample(doc, "weir_outputs_total", {{"pipeline", "pass"}}), 25);
  EXPECT_EQ(sample(doc, "weir_dead_letters_total", {{"pipeline", "pass"}, {"reason", "malformed"}}), 1);
  EXPECT_EQ(sample(doc, "weir_open_groups", {{"pipeline", "win"}, {"stage", "1"}, {"kind", "$tumblingWindow"}}), 3);
  EXPECT_EQ(sample(doc, "weir_connection_received_total", {{"connection", "local"}}), 31);
  EXPECT_EQ(sample(doc, "weir_connection_up", {{"connection", "up"}, {"type", "mqtt"}}), 1);
  EXPECT_FALSE(doc["time"].get<std::string>().empty());

  // Retained: a subscriber that comes later gets the last document at once.
  MqttCollector late(broker.port(), {"weir/gw/metrics"});
  ASSERT_TRUE(wait_until([&] { return late.count() >= 1; }, 5s));
  EXPECT_TRUE(late.messages().front().retained);
  EXPECT_EQ(weir.log().find("metrics on http"), std::string::npos);  // no HTTP endpoint asked for
  EXPECT_EQ(weir.stop(), 0) << weir.log();
}

TEST(GatewayService, TheMetricsPortIsLoopbackOnlyAndOffByDefault) {
  TempDir dir;
  MosquittoBroker broker(dir);
  json cfg = service_config(broker.port(), 0);
  dir.write("weir.json", cfg.dump());
  auto ok = run_command({WEIR_EXE, "check", "-c", dir.file("weir.json")});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  cfg["metrics"] = {{"port", 9464}, {"listen", "0.0.0.0"}};
  dir.write("weir.json", cfg.dump());
  auto bad = run_command({WEIR_EXE, "check", "-c", dir.file("weir.json")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/metrics/listen"), std::string::npos) << bad.err;
}

// A notify socket like systemd's: a unix datagram socket the test reads.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // Reads what arrived (each datagram one string) until none comes for 100 ms.
  void drain(std::vector<std::string>& out) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

size_t count_with(const std::vector<std::string>& msgs, const std::string& what) {
  size_t n = 0;
  for (const auto& m : msgs) n += m.find(what) != std::string::npos ? 1 : 0;
  return n;
}

TEST(GatewayService, TellsSystemdReadyWatchdogStatusAndStopping) {
  TempDir dir;
  MosquittoBroker broker(dir);
  dir.write("weir.json", service_config(broker.port(), 0).dump());
  NotifySocket sock(dir.file("notify.sock"));
  setenv("NOTIFY_SOCKET", dir.file("notify.sock").c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);  // a ping at least every 200 ms
  setenv("JOURNAL_STREAM", "8:12345", 1);
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("JOURNAL_STREAM");
  std::vector<std::string> msgs;
  std::string log_at_ready;
  ASSERT_TRUE(wait_until([&] {
    sock.drain(msgs);
    if (log_at_ready.empty() && count_with(msgs, "READY=1") == 1) log_at_ready = weir.log();
    return count_with(msgs, "READY=1") == 1 && count_with(msgs, "WATCHDOG=1") >= 5;
  }, 15s)) << weir.log();
  // READY only after the connection is up: the log says so by the time READY arrived.
  EXPECT_NE(log_at_ready.find("connected to"), std::string::npos) << log_at_ready;
  EXPECT_GE(count_with(msgs, "STATUS="), 1u);
  EXPECT_NE(msgs.front().find("READY=1"), std::string::npos) << "nothing before READY";
  ASSERT_EQ(weir.stop(), 0) << weir.log();
  sock.drain(msgs);
  EXPECT_EQ(count_with(msgs, "STOPPING=1"), 1u);
  // journald's form: the syslog priority first, no timestamp of our own.
  const std::string log = weir.log();
  EXPECT_EQ(log.rfind("<6>", 0), 0u) << log.substr(0, 200);
  EXPECT_NE(log.find("\n<6>connection \"local\": connected to"), std::string::npos) << log;
}

TEST(GatewayService, TheUnitFileVerifies) {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  std::string unit = read_file(std::string(WEIR_SOURCE_DIR) + "/config/weir.service");
  // The unit names the installed binary; point it at the one just built.
  const std::string installed = "/usr/local/bin/weir";
  ASSERT_NE(unit.find("ExecStart=" + installed), std::string::npos);
  for (size_t at = unit.find(installed); at != std::string::npos; at = unit.find(installed, at + 1)) {
    unit.replace(at, installed.size(), WEIR_EXE);
  }
  for (const char* must : {"Type=notify", "WatchdogSec=", "Restart=on-failure", "StateDirectory=weir",
                           "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict"}) {
    EXPECT_NE(unit.find(must), std::string::npos) << must;
  }
  dir.write("weir.service", unit);
  auto r = run_command({"/usr/bin/systemd-analyze", "verify", dir.file("weir.service")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err.find("weir.service"), std::string::npos) << r.err;
}

json reload_config(int port, const TempDir& dir, const json& edit_match, const std::string& edit_topic) {
  return {{"connections", {{"local", {{"type", "mqtt"}, {"port", port}, {"clientId", "weir-reload"}}}}},
          {"state", {{"path", dir.file("weir.db")}}},
          {"engine", {{"statsIntervalMs", 1000}}},
          {"pipelines",
           json::array(
               {{{"name", "steady"},
                 {"pipeline",
                  json::array({{{"$source", {{"connectionName", "local"}, {"topic", "sensors/+device/telemetry"}, {"timeField", "ts"}}}},
                               {{"$tumblingWindow",
                                 {{"interval", {{"size", 1}, {"unit", "second"}}},
                                  {"idleTimeout", {{"size", 2}, {"unit", "second"}}},
                                  {"pipeline", json::array({{{"$group", {{"_id", "$device"}, {"n", {{"$count", json::object()}}},
                                                                         {"seqs", {{"$sum", "$seq"}}}}}}})}}}},
                               {{"$emit", {{"connectionName", "local"}, {"topic", "steady/{_id}"}}}}})}},
                {{"name", "edit"},
                 {"pipeline", json::array({{{"$source", {{"connectionName", "local"}, {"topic", "sensors/+device/telemetry"}}}},
                                           {{"$match", edit_match}},
                                           {{"$emit", {{"connectionName", "local"}, {"topic", edit_topic}}}}})}}})}};
}

TEST(GatewayService, ReloadChangesOnePipelineUnderLoadAndTheOtherLosesNothing) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"steady/#", "edit/#", "edit2/#"});
  const json before = reload_config(broker.port(), dir, {{"temp", {{"$gt", -1000}}}}, "edit/{device}");
  dir.write("weir.json", before.dump(2));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("weir running") != std::string::npos; }, 15s)) << weir.log();
  Process sim({WEIR_SIM_EXE, "--port", std::to_string(broker.port()), "--devices", "10", "--count", "5000", "--rate",
               "100", "--qos", "1", "--time-mode", "synthetic", "--step-ms", "100", "--seed", "3", "--client-id",
               "reload-sim", "--quiet", "--truth", dir.file("truth.csv")},
              dir.file("sim.log"));
  ASSERT_TRUE(wait_until([&] { return collector.count_prefix("steady/") >= 20; }, 20s)) << weir.log();

  // A broken config is refused by `weir reload` before the running weir hears of it...
  dir.write("weir.json", "{\"connections\": ");
  auto refused = run_command({WEIR_EXE, "reload", "-c", dir.file("weir.json")});
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  // ...and by the running weir on a plain SIGHUP, which goes on with its config.
  weir.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return weir.log().find("reload refused") != std::string::npos; }, 10s)) << weir.log();
  ASSERT_TRUE(weir.running());

  // The change: "edit" now keeps nothing and publishes elsewhere; "steady" is untouched.
  dir.write("weir.json", reload_config(broker.port(), dir, {{"temp", {{"$gt", 1000}}}}, "edit2/{device}").dump(2));
  auto ok = run_command({WEIR_EXE, "reload", "-c", dir.file("weir.json")});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  ASSERT_TRUE(wait_until([&] { return weir.log().find("reload: applied") != std::string::npos; }, 10s)) << weir.log();
  const size_t edit_before = collector.count_prefix("edit/");
  EXPECT_NE(weir.log().find("reload: pipeline \"steady\": unchanged, state kept"), std::string::npos) << weir.log();
  EXPECT_NE(weir.log().find("reload: pipeline \"edit\": changed, rebuilt"), std::string::npos) << weir.log();
  ASSERT_EQ(sim.wait(60s), 0) << read_file(dir.file("sim.log"));

  WindowTruth truth;
  ASSERT_EQ(read_truth(dir.file("truth.csv"), 1000, truth), 5000);
  ASSERT_TRUE(wait_until([&] { return collector.count_prefix("steady/") >= truth.size(); }, 30s))
      << collector.count_prefix("steady/") << " of " << truth.size() << "\n" << weir.log();
  wait_until([] { return false; }, 500ms);
  std::map<std::pair<std::string, int64_t>, int> seen;
  for (const auto& m : collector.messages()) {
    if (m.topic.rfind("steady/", 0) != 0) continue;
    json doc = json::parse(m.payload);
    const std::string start = doc.at("_stream_meta").at("window").at("start");
    const auto ts = parse_iso8601(start);
    ASSERT_TRUE(ts.has_value()) << start;
    const auto key = std::make_pair(doc.at("_id").get<std::string>(), *ts);
    auto it = truth.find(key);
    ASSERT_NE(it, truth.end()) << m.payload;
    EXPECT_EQ(doc.at("n").get<int64_t>(), it->second.n) << m.payload;
    EXPECT_EQ(doc.at("seqs").get<int64_t>(), it->second.seqs) << m.payload;
    ++seen[key];
  }
  EXPECT_EQ(seen.size(), truth.size()) << "every window of the unchanged pipeline, across the reload";
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k.first << " " << k.second;
  // The changed pipeline runs its new definition: nothing matches any more.
  EXPECT_GT(edit_before, 0u);
  EXPECT_EQ(collector.count_prefix("edit2/"), 0u);
  EXPECT_EQ(weir.stop(), 0) << weir.log();
}

}  // namespace
}  // namespace weir::test
