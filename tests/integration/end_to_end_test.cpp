// weir-sim (paho) -> mosquitto -> weir (libmosquitto) -> mosquitto -> collector: the emitted
// aggregates must equal the ground truth the simulator wrote, and every malformed payload
// must reach the dead-letter topic with its reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/mosquitto_broker.hpp"
#include "support/mqtt_collector.hpp"
#include "support/process.hpp"
#include "support/window_truth.hpp"
#include "weir/time.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

std::string pipeline_config(int port, int idle_seconds) {
  json cfg = json::parse(R"({
    "connections": {"local": {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "clientId": "weir-e2e"}},
    "engine": {"statsIntervalMs": 5000, "queueCapacity": 20000},
    "pipelines": [{
      "name": "room-temps",
      "dlq": {"connectionName": "local", "topic": "weir/dlq/room-temps"},
      "pipeline": [
        {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "format": "json", "timeField": "ts"}},
        {"$match": {"temp": {"$gte": -40, "$lt": 125}}},
        {"$addFields": {"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}}},
        {"$tumblingWindow": {
          "interval": {"size": 10, "unit": "second"},
          "allowedLateness": {"size": 2, "unit": "second"},
          "idleTimeout": {"size": 2, "unit": "second"},
          "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
                                   "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"},
                                   "first": {"$first": "$temp"}, "last": {"$last": "$temp"}, "maxF": {"$max": "$tempF"}}}]}},
        {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}
      ]}]})");
  cfg["connections"]["local"]["port"] = port;
  cfg["pipelines"][0]["pipeline"][3]["$tumblingWindow"]["idleTimeout"]["size"] = idle_seconds;
  return cfg.dump(2);
}

bool close_rel(double a, double b, double rel) {
  return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

void run_end_to_end(int devices, int64_t readings, double malformed) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector collector(broker.port(), {"agg/#", "weir/dlq/#"});
  dir.write("weir.json", pipeline_config(broker.port(), 2));
  Process weir({WEIR_EXE, "run", "-c", dir.file("weir.json")}, dir.file("weir.log"));
  ASSERT_TRUE(wait_until([&] { return weir.log().find("connected to") != std::string::npos || !weir.running(); },
                         std::chrono::seconds(10)))
      << weir.log();
  ASSERT_TRUE(weir.running()) << weir.log();

  const int64_t step_ms = 100;
  auto started = std::chrono::steady_clock::now();
  auto sim = run_command({WEIR_SIM_EXE, "--port", std::to_string(broker.port()), "--devices",
                          std::to_string(devices), "--count", std::to_string(readings), "--rate", "0",
                          "--qos", "1", "--time-mode", "synthetic", "--step-ms", std::to_string(step_ms),
                          "--malformed", std::to_string(malformed), "--seed", "7", "--truth",
                          dir.file("truth.csv")},
                         std::chrono::minutes(10));
  ASSERT_EQ(sim.exit_code, 0) << sim.err << sim.out;
  auto sim_done = std::chrono::steady_clock::now();

  // Ground truth: expected aggregates per (device, window) and the malformed payloads sent.
  WindowTruth expected;
  std::map<std::string, std::vector<std::vector<std::string>>> others;
  const int64_t truth_readings = read_truth(dir.file("truth.csv"), 10000, expected, &others);
  std::map<std::string, int64_t> malformed_kinds;
  for (const auto& f : others["malformed"]) ++malformed_kinds[f.at(3)];
  ASSERT_EQ(truth_readings, readings);
  int64_t malformed_total = 0;
  for (const auto& [k, n] : malformed_kinds) malformed_total += n;

  size_t want = expected.size() + static_cast<size_t>(malformed_total);
  bool all = wait_until([&] { return collector.count() >= want; }, std::chrono::minutes(5));
  auto done = std::chrono::steady_clock::now();
  long peak_kib = weir.peak_rss_kib();
  ASSERT_TRUE(all) << "received " << collector.count() << " of " << want << "\n" << weir.log();
  // Nothing more arrives (no duplicates, no extra windows).
  wait_until([] { return false; }, std::chrono::milliseconds(500));
  ASSERT_EQ(collector.count(), want);

  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("[ e2e ] %lld readings from %d devices (+%lld malformed): simulator done in %.1f s, "
              "all %zu outputs in %.1f s; weir peak RSS %ld KiB\n",
              static_cast<long long>(readings), devices, static_cast<long long>(malformed_total),
              secs(started, sim_done), want, secs(started, done), peak_kib);

  std::map<std::string, int64_t> dlq_reasons;
  std::map<std::string, int64_t> dlq_kind_seen;
  size_t checked = 0;
  for (const auto& m : collector.messages()) {
    json doc = json::parse(m.payload);
    if (m.topic.rfind("weir/dlq/", 0) == 0) {
      ++dlq_reasons[doc.at("reason").get<std::string>()];
      ASSERT_EQ(doc.at("pipeline"), "room-temps");
      ASSERT_EQ(doc.at("topic").get<std::string>().rfind("sensors/dev-", 0), 0u);
      ASSERT_TRUE(doc.contains("payload"));
      ASSERT_FALSE(doc.at("detail").get<std::string>().empty());
      continue;
    }
    std::string device = doc.at("_id");
    ASSERT_EQ(m.topic, "agg/" + device);
    const std::string start = doc.at("_stream_meta").at("window").at("start");
    bool found = false;
    for (auto& [key, e] : expected) {
      if (key.first != device || format_iso8601(key.second) != start) continue;
      found = true;
      ASSERT_EQ(doc.at("_stream_meta").at("window").at("end"), format_iso8601(key.second + 10000));
      ASSERT_EQ(doc.at("n").get<int64_t>(), e.n) << m.payload;
      ASSERT_EQ(doc.at("min").get<double>(), e.min) << m.payload;
      ASSERT_EQ(doc.at("max").get<double>(), e.max) << m.payload;
      ASSERT_EQ(doc.at("first").get<double>(), e.first) << m.payload;
      ASSERT_EQ(doc.at("last").get<double>(), e.last) << m.payload;
      ASSERT_TRUE(close_rel(doc.at("sum").get<double>(), e.sum, 1e-9)) << m.payload << " expected sum " << e.sum;
      ASSERT_TRUE(close_rel(doc.at("avg").get<double>(), e.sum / static_cast<double>(e.n), 1e-9)) << m.payload;
      ASSERT_TRUE(close_rel(doc.at("maxF").get<double>(), e.max * 1.8 + 32, 1e-12)) << m.payload;
      e.n = -1;  // seen: a second output for the same window fails the n check
      ++checked;
      break;
    }
    ASSERT_TRUE(found) << "unexpected output " << m.topic << " " << m.payload;
  }
  EXPECT_EQ(checked, expected.size());
  // Each kind of malformed payload maps to one dead-letter reason.
  std::map<std::string, int64_t> want_reasons;
  for (const auto& [kind, n] : malformed_kinds) {
    std::string reason = kind == "missing_ts" ? "missing_time" : kind == "bad_ts" ? "bad_time" : "malformed";
    want_reasons[reason] += n;
  }
  EXPECT_EQ(dlq_reasons, want_reasons);
  if (malformed > 0) {
    EXPECT_GT(malformed_total, 0);
  }
  EXPECT_TRUE(weir.running()) << weir.log();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(weir.stop(std::chrono::seconds(5)), 0) << weir.log();
  EXPECT_LT(secs(t0, std::chrono::steady_clock::now()), 2.0) << "clean shutdown took too long";
}

TEST(EndToEnd, SmallRunMatchesGroundTruth) { run_end_to_end(20, 20000, 0.01); }

// The acceptance run: 1,000,000 readings from 1,000 devices at QoS 1.
TEST(EndToEnd, MillionReadingsFromThousandDevices) {
  if (std::getenv("WEIR_SKIP_LARGE") != nullptr) GTEST_SKIP() << "WEIR_SKIP_LARGE is set";
  run_end_to_end(1000, 1000000, 0.001);
}

}  // namespace
}  // namespace weir::test
