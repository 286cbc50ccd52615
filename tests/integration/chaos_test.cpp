// Crash safety end to end: weir-sim publishes readings at QoS 1 from 100 devices while weir
// is stopped at random moments (SIGKILL, or SIGTERM for the clean variant) and started
// again, in one variant with the broker restarted too. At the end the aggregates received,
// one per output id, must equal the simulator's ground truth exactly: every reading counted
// once, none lost, none twice; and every copy of an output (a crash may send one again)
// must have the same content.
//
// The seed of the stops is printed; WEIR_CHAOS_SEED replays a run, WEIR_CHAOS_READINGS
// changes its size (at least 200,000 by default).
#include <gtest/gtest.h>

#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
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

constexpr int kDevices = 100;
constexpr int64_t kStepMs = 100;
constexpr int64_t kWindowMs = 10000;
constexpr int64_t kStartMs = 1767225600000;  // the simulator's default start

std::string chaos_config(int port, const TempDir& dir) {
  json cfg = json::parse(R"({
    "connections": {"local": {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "clientId": "weir-chaos",
                              "reconnectMinMs": 100, "reconnectMaxMs": 1000}},
    "engine": {"statsIntervalMs": 2000, "queueCapacity": 20000},
    "state": {"path": "", "checkpointInterval": {"size": 300, "unit": "ms"}},
    "pipelines": [{
      "name": "chaos",
      "dlq": {"connectionName": "local", "topic": "weir/dlq/chaos"},
      "pipeline": [
        {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "format": "json", "timeField": "ts"}},
        {"$tumblingWindow": {
          "interval": {"size": 10, "unit": "second"},
          "allowedLateness": {"size": 3, "unit": "second"},
          "idleTimeout": {"size": 10, "unit": "second"},
          "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "seqs": {"$sum": "$seq"},
                                   "sum": {"$sum": "$temp"}, "min": {"$min": "$temp"}, "max": {"$max": "$temp"},
                                   "first": {"$first": "$temp"}, "last": {"$last": "$temp"},
                                   "median": {"$median": {"input": "$temp", "method": "approximate"}}}}]}},
        {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}
      ]}]})");
  cfg["connections"]["local"]["port"] = port;
  cfg["state"]["path"] = dir.file("state/weir.db");
  return cfg.dump(2);
}

enum class Stop { kKill, kTerm };

struct ChaosRun {
  Stop how = Stop::kKill;
  bool restart_broker = false;
};

void run_chaos(const ChaosRun& run) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("WEIR_CHAOS_SEED")) seed = std::strtoull(s, nullptr, 10);
  int64_t readings = 200000;
  if (const char* r = std::getenv("WEIR_CHAOS_READINGS")) readings = std::max<int64_t>(kDevices, std::atoll(r));
  readings -= readings % (2 * kDevices);
  std::printf("[ chaos ] seed %llu (replay with WEIR_CHAOS_SEED=%llu), %lld readings, stops by %s%s\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              static_cast<long long>(readings), run.how == Stop::kKill ? "SIGKILL" : "SIGTERM",
              run.restart_broker ? ", broker restarted" : "");
  std::fflush(stdout);
  std::mt19937_64 rng(seed);

  TempDir dir;
  std::filesystem::create_directories(dir.file("state"));
  std::filesystem::create_directories(dir.file("broker"));
  // The broker keeps sessions across its own restart (saved at its clean stop).
  // ("user root": mosquitto started as root would otherwise switch to its own user, which
  // cannot write in the test's private directory; started as another user it stays that.)
  MosquittoBroker broker(dir, "", "user root\npersistence true\npersistence_location " + dir.file("broker") +
                                      "/\nautosave_interval 1\n");
  MqttCollector collector(broker.port(), {"agg/#", "weir/dlq/#"}, "chaos-collector");
  dir.write("weir.json", chaos_config(broker.port(), dir));

  int incarnation = 0;
  auto start_weir = [&] {
    ++incarnation;
    return Process({WEIR_EXE, "run", "-c", dir.file("weir.json")},
                   dir.file("weir-" + std::to_string(incarnation) + ".log"));
  };
  auto logs = [&] {
    std::string all;
    for (int i = std::max(1, incarnation - 2); i <= incarnation; ++i) {
      std::string log = read_file(dir.file("weir-" + std::to_string(i) + ".log"));
      if (log.size() > 6000) log = "..." + log.substr(log.size() - 6000);
      all += "--- weir-" + std::to_string(i) + ".log\n" + log;
    }
    return all;
  };
  Process weir = start_weir();
  ASSERT_TRUE(wait_until([&] { return weir.log().find("connected to") != std::string::npos || !weir.running(); },
                         std::chrono::seconds(20)))
      << logs();
  ASSERT_TRUE(weir.running()) << logs();

  // The readings in two halves (two simulator runs, one after the other in event time), so
  // the broker can restart between them without the simulator (which does not reconnect)
  // losing anything.
  const int64_t half = readings / 2;
  const int64_t half_span = half / kDevices * kStepMs;  // event time each half covers
  auto simulate = [&](int part) {
    return Process({WEIR_SIM_EXE, "--port", std::to_string(broker.port()), "--devices", std::to_string(kDevices),
                    "--count", std::to_string(half), "--rate", "40", "--qos", "1", "--time-mode", "synthetic",
                    "--step-ms", std::to_string(kStepMs), "--start-ms", std::to_string(kStartMs + part * half_span),
                    "--seed", std::to_string(seed % 1000 + static_cast<uint64_t>(part)), "--client-id",
                    "chaos-sim-" + std::to_string(part), "--quiet", "--truth",
                    dir.file("truth-" + std::to_string(part) + ".csv")},
                   dir.file("sim-" + std::to_string(part) + ".log"));
  };

  int stops = 0;
  std::uniform_int_distribution<int> pause_ms(700, 2200);
  auto stop_and_restart = [&] {
    wait_until([] { return false; }, std::chrono::milliseconds(pause_ms(rng)));
    ASSERT_TRUE(weir.running()) << "weir died by itself\n" << logs();
    if (run.how == Stop::kKill) {
      weir.signal(SIGKILL);
      ASSERT_TRUE(weir.wait(std::chrono::seconds(10)).has_value());
    } else {
      ASSERT_EQ(weir.stop(std::chrono::seconds(20)), 0) << logs();
    }
    ++stops;
    weir = start_weir();
  };
  for (int part = 0; part < 2; ++part) {
    Process sim = simulate(part);
    while (sim.running()) {
      stop_and_restart();
      if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_EQ(sim.wait(std::chrono::seconds(1)), 0) << read_file(dir.file("sim-" + std::to_string(part) + ".log"));
    if (part == 0 && run.restart_broker) {
      // While weir still works through what the broker queued for it.
      broker.stop();
      wait_until([] { return false; }, std::chrono::milliseconds(500));
      broker.start();
      ASSERT_TRUE(port_accepts(broker.port())) << broker.log();
    }
  }
  while (stops < 10) {
    stop_and_restart();
    if (::testing::Test::HasFatalFailure()) return;
  }

  WindowTruth expected;
  int64_t truth_readings = read_truth(dir.file("truth-0.csv"), kWindowMs, expected);
  truth_readings += read_truth(dir.file("truth-1.csv"), kWindowMs, expected);
  ASSERT_EQ(truth_readings, readings);

  // Outputs by id; a second copy must be the same document.
  std::map<std::string, json> by_id;
  size_t copies = 0, dlq = 0;
  auto collect = [&] {
    by_id.clear();
    copies = dlq = 0;
    for (const auto& m : collector.messages()) {
      if (m.topic.rfind("weir/dlq/", 0) == 0) {
        ++dlq;
        continue;
      }
      json doc = json::parse(m.payload);
      const std::string id = doc.at("_stream_meta").at("outputId");
      auto [it, fresh] = by_id.emplace(id, doc);
      if (!fresh) {
        ++copies;
        EXPECT_EQ(it->second, doc) << "two outputs with the same id and different content";
      }
    }
  };
  const bool all = wait_until([&] {
    collect();
    return by_id.size() >= expected.size() || dlq > 0;
  }, std::chrono::minutes(3));
  wait_until([] { return false; }, std::chrono::milliseconds(1000));  // anything extra arrives
  collect();
  std::printf("[ chaos ] %d stops; %zu windows expected, %zu distinct outputs, %zu sent again; "
              "%zu dead letters\n", stops, expected.size(), by_id.size(), copies, dlq);
  ASSERT_TRUE(all) << "received " << by_id.size() << " of " << expected.size() << " windows\n" << logs();
  EXPECT_EQ(dlq, 0u) << "readings went to the dead-letter topic\n" << logs();
  ASSERT_EQ(by_id.size(), expected.size()) << logs();

  size_t checked = 0;
  for (const auto& [id, doc] : by_id) {
    const std::string device = doc.at("_id");
    const std::string start = doc.at("_stream_meta").at("window").at("start");
    int64_t ws = -1;
    for (int64_t t = kStartMs; t < kStartMs + 2 * half_span + kWindowMs; t += kWindowMs) {
      if (format_iso8601(t) == start) ws = t;
    }
    ASSERT_GE(ws, 0) << doc.dump();
    auto it = expected.find({device, ws});
    ASSERT_NE(it, expected.end()) << "an output for a window with no readings: " << doc.dump();
    const ExpectedWindow& e = it->second;
    ASSERT_EQ(doc.at("n").get<int64_t>(), e.n) << doc.dump();
    ASSERT_EQ(doc.at("seqs").get<int64_t>(), e.seqs) << doc.dump();
    ASSERT_EQ(doc.at("min").get<double>(), e.min) << doc.dump();
    ASSERT_EQ(doc.at("max").get<double>(), e.max) << doc.dump();
    ASSERT_EQ(doc.at("first").get<double>(), e.first) << doc.dump();
    ASSERT_EQ(doc.at("last").get<double>(), e.last) << doc.dump();
    ASSERT_NEAR(doc.at("sum").get<double>(), e.sum, 1e-9 * std::max(1.0, std::fabs(e.sum))) << doc.dump();
    ++checked;
  }
  EXPECT_EQ(checked, expected.size());
  EXPECT_EQ(weir.stop(std::chrono::seconds(20)), 0) << logs();
  if (::testing::Test::HasFailure()) std::printf("%s\n", logs().c_str());
}

TEST(Chaos, KilledAtRandomMomentsEveryReadingCountsOnce) { run_chaos({Stop::kKill, false}); }

TEST(Chaos, KilledAndTheBrokerRestartedEveryReadingCountsOnce) { run_chaos({Stop::kKill, true}); }

TEST(Chaos, StoppedCleanlyAndStartedEveryReadingCountsOnce) { run_chaos({Stop::kTerm, false}); }

}  // namespace
}  // namespace weir::test
