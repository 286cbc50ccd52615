// $detect against the simulator's ground truth, through `weir replay` with the shipped
// examples/detect.json: every injected anomaly (spike, dip, shift, drift, flatline, dropout)
// raises one alert within a stated number of readings, and clean data raises almost none.
// Sizes can be raised with WEIR_TRUTH_DEVICES / WEIR_TRUTH_READINGS (readings per device).
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // weir-sim's default synthetic start
constexpr int64_t kStep = 1000;
constexpr int64_t kMargin = 60;  // readings: warm-up at the start, room at the end, isolation

int64_t env_or(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

int64_t parse_iso_ms(const std::string& s) {
  // "2026-01-01T00:05:13.000Z": the tests only span one day.
  int h = std::stoi(s.substr(11, 2)), m = std::stoi(s.substr(14, 2)), sec = std::stoi(s.substr(17, 2));
  int ms = std::stoi(s.substr(20, 3));
  int day = std::stoi(s.substr(8, 2));
  return kStart + (day - 1) * 86400000LL + ((h * 60LL + m) * 60 + sec) * 1000 + ms;
}

struct Episode {
  std::string device, type;
  int64_t start = 0, end = 0;
};
struct Alert {
  int64_t time = 0;
  std::string method;
};

struct TruthRun {
  std::vector<Episode> episodes;
  std::map<std::string, std::vector<Alert>> raised;  // by device
  int64_t raised_total = 0;
  int64_t readings = 0;
};

TruthRun simulate_and_detect(const TempDir& dir, int64_t devices, int64_t per_device, double anomaly_rate,
                        uint64_t seed) {
  TruthRun run;
  const std::string input = dir.file("in.ndjson"), truth = dir.file("truth.csv");
  auto sim = run_command({WEIR_SIM_EXE, "--output", input, "--truth", truth, "--time-mode", "synthetic",
                          "--devices", std::to_string(devices), "--count", std::to_string(devices * per_device),
                          "--anomaly-rate", std::to_string(anomaly_rate), "--seed", std::to_string(seed),
                          "--quiet"},
                         std::chrono::minutes(5));
  EXPECT_EQ(sim.exit_code, 0) << sim.err;
  auto r = run_command({WEIR_EXE, "replay", "-c", std::string(WEIR_SOURCE_DIR) + "/examples/detect.json", "-i",
                        input},
                       std::chrono::minutes(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream t(truth);
  std::string line;
  while (std::getline(t, line)) {
    if (line.rfind("reading,", 0) == 0) ++run.readings;
    if (line.rfind("anomaly,", 0) != 0) continue;
    std::stringstream ss(line);
    std::string kind;
    Episode e;
    std::string start, end;
    std::getline(ss, kind, ',');
    std::getline(ss, e.device, ',');
    std::getline(ss, e.type, ',');
    std::getline(ss, start, ',');
    std::getline(ss, end, ',');
    e.start = std::stoll(start);
    e.end = std::stoll(end);
    run.episodes.push_back(e);
  }
  std::stringstream out(r.out);
  while (std::getline(out, line)) {
    json o = json::parse(line);
    const std::string topic = o["topic"];
    EXPECT_EQ(topic.rfind("weir/dlq", 0), std::string::npos) << line;
    if (topic.rfind("alerts/dev-", 0) != 0 || o["payload"]["state"] != "raised") continue;
    run.raised[o["payload"]["device"]].push_back(
        {parse_iso_ms(o["payload"]["eventTime"]), o["payload"]["method"]});
    ++run.raised_total;
  }
  return run;
}

TEST(DetectTruth, EveryInjectedAnomalyRaisesOneAlert) {
  TempDir dir;
  const int64_t devices = env_or("WEIR_TRUTH_DEVICES", 200);
  const int64_t per_device = env_or("WEIR_TRUTH_READINGS", 1000);
  TruthRun run = simulate_and_detect(dir, devices, per_device, 0.002, 21);
  // Readings until the alert, counting the first anomalous one as 1.
  const std::map<std::string, int64_t> within = {{"spike", 1}, {"dip", 1}, {"shift", 1},
                                                 {"drift", 25}, {"flatline", 5}, {"dropout", 3}};
  const int64_t data_end = kStart + (per_device - 1) * kStep;
  std::map<std::string, int64_t> checked, worst;
  std::map<std::string, int64_t> previous_end;
  int64_t isolated = 0;
  // Alerts belong to an episode until the next episode of the same device starts.
  std::map<std::string, std::vector<int64_t>> starts;
  for (const auto& e : run.episodes) starts[e.device].push_back(e.start);
  int64_t extra = 0;
  for (const auto& e : run.episodes) {
    const auto& ds = starts[e.device];
    auto next = std::upper_bound(ds.begin(), ds.end(), e.start);
    const int64_t until = std::min(e.end + 5 * kStep, next == ds.end() ? INT64_MAX : *next - 1);
    const int64_t prev = previous_end.count(e.device) ? previous_end[e.device] : kStart - kMargin * kStep;
    previous_end[e.device] = e.end;
    // Judged: episodes after the detectors' warm-up, with room before the data ends, and
    // not right after another episode of the same device (its alert may still be active).
    if (e.start < kStart + kMargin * kStep || e.start > data_end - kMargin * kStep ||
        e.start - prev < kMargin * kStep) {
      continue;
    }
    ++isolated;
    int64_t first = -1, count = 0;
    std::string methods, first_method;
    for (const auto& a : run.raised[e.device]) {
      if (a.time < e.start || a.time > until) continue;
      ++count;
      methods += " " + a.method + "@" + std::to_string((a.time - e.start) / kStep);
      if (first < 0) {
        first = a.time;
        first_method = a.method;
      }
    }
    ASSERT_GE(first, 0) << e.type << " on " << e.device << " at " << e.start << " raised no alert";
    // The alert comes from the method made for this kind of anomaly.
    const std::string want = e.type == "dropout" ? "missing" : e.type == "flatline" ? "flatline" : "mad";
    EXPECT_TRUE(first_method == want || (want == "mad" && first_method == "threshold"))
        << e.type << " on " << e.device << " at " << e.start << " first raised by " << first_method;
    const int64_t readings = (first - e.start) / kStep + 1;
    EXPECT_LE(readings, within.at(e.type)) << e.type << " on " << e.device << " at " << e.start;
    if (count > 1) {
      ++extra;
      std::printf("[truth] %s on %s at %lld (length %lld) raised%s\n", e.type.c_str(), e.device.c_str(),
                  static_cast<long long>(e.start), static_cast<long long>((e.end - e.start) / kStep + 1),
                  methods.c_str());
    }
    ++checked[e.type];
    worst[e.type] = std::max(worst[e.type], readings);
  }
  for (const auto& [type, n] : checked) {
    std::printf("[truth] %-8s %4lld episodes, alert within %lld readings (bound %lld)\n", type.c_str(),
                static_cast<long long>(n), static_cast<long long>(worst[type]),
                static_cast<long long>(within.at(type)));
  }
  std::printf("[truth] %lld of %zu episodes judged (isolated, after warm-up), %lld readings\n",
              static_cast<long long>(isolated), run.episodes.size(), static_cast<long long>(run.readings));
  std::printf("[truth] %lld episodes raised more than one alert\n", static_cast<long long>(extra));
  EXPECT_EQ(checked.size(), 6u) << "every anomaly type was injected and checked";
  // A second alert is the same episode seen by a second method (mostly mad when a long
  // flatline or dropout ends): at most one episode in 20.
  EXPECT_LE(extra * 20, isolated);
  EXPECT_GT(isolated, static_cast<int64_t>(run.episodes.size() / 2));
}

TEST(DetectTruth, CleanDataRaisesFewerThanOneAlertPer100kReadings) {
  TempDir dir;
  const int64_t devices = env_or("WEIR_TRUTH_DEVICES", 1000);
  const int64_t per_device = env_or("WEIR_TRUTH_READINGS", 1000);
  TruthRun run = simulate_and_detect(dir, devices, per_device, 0.0, 3);
  ASSERT_EQ(run.readings, devices * per_device);
  ASSERT_TRUE(run.episodes.empty());
  std::printf("[truth] clean data: %lld alerts raised over %lld readings from %lld devices\n",
              static_cast<long long>(run.raised_total), static_cast<long long>(run.readings),
              static_cast<long long>(devices));
  EXPECT_LT(run.raised_total * 100000, run.readings);
}

}  // namespace
}  // namespace weir::test

namespace weir::test {
namespace {

// Every method of $detect from a config file through `weir replay`: one series built so that
// each method has something to find (a spike, a stuck stretch, a silence), replayed twice.
TEST(DetectReplay, EveryMethodRaisesFromAConfigFile) {
  TempDir dir;
  json config = json::parse(R"({
    "connections": {"local": {"type": "mqtt", "host": "127.0.0.1", "port": 1883}},
    "pipelines": [{"name": "all", "pipeline": [
      {"$source": {"connectionName": "local", "topic": "s/+device", "format": "json", "timeField": "ts"}},
      {"$detect": {"partitionBy": "$device", "field": "temp",
        "methods": {"threshold": {"max": 50}, "zscore": {"window": 60, "threshold": 5},
                    "ewma": {"threshold": 5}, "mad": {"window": 60, "threshold": 6},
                    "cusum": {"minSamples": 100, "h": 8}, "rate": {"maxPerSecond": 5},
                    "flatline": {"for": {"size": 5, "unit": "second"}},
                    "missing": {"after": {"size": 5, "unit": "second"}}, "auto": {}},
        "clearAfter": 3,
        "alerts": {"topic": "alerts/{device}", "stateTopic": "state/{device}"}}},
      {"$match": {"_anomaly.score": {"$gte": 2}}},
      {"$emit": {"connectionName": "local", "topic": "never"}}]}]})");
  dir.write("c.json", config.dump());
  std::string input;
  int64_t t = kStart;
  for (int i = 0; i < 700; ++i) {
    double v = 20.0 + 0.5 * std::sin(i / 10.0) + 0.05 * ((i * 7) % 5 - 2);
    if (i == 500) v = 60.0;                  // a spike: threshold, zscore, ewma, mad, rate, auto
    if (i >= 520 && i < 530) v = 20.0;       // stuck: flatline
    if (i >= 600) v += 3.0;                  // a level shift: cusum
    if (i == 560) t += 10 * kStep;           // a silence: missing
    json line = {{"topic", "s/d1"}, {"time", t}, {"payload", {{"ts", t}, {"device", "d1"}, {"temp", v}}}};
    input += line.dump() + "\n";
    t += kStep;
  }
  dir.write("in.ndjson", input);
  auto a = run_command({WEIR_EXE, "replay", "-c", dir.file("c.json"), "-i", dir.file("in.ndjson")});
  auto b = run_command({WEIR_EXE, "replay", "-c", dir.file("c.json"), "-i", dir.file("in.ndjson")});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out) << "the same input gives the same alerts, ids included";
  std::map<std::string, int> raised, cleared;
  std::map<std::string, std::string> open;  // alertId -> method
  int states = 0;
  std::stringstream ss(a.out);
  std::string line;
  while (std::getline(ss, line)) {
    json o = json::parse(line);
    if (o["topic"] == "state/d1") {
      ++states;
      continue;
    }
    ASSERT_EQ(o["topic"], "alerts/d1") << line;
    const json& p = o["payload"];
    EXPECT_EQ(p["device"], "d1");
    EXPECT_EQ(p["field"], "temp");
    const std::string method = p["method"], id = p["alertId"];
    if (p["state"] == "raised") {
      ++raised[method];
      EXPECT_TRUE(open.emplace(id, method).second) << "an id is raised once: " << line;
    } else {
      ++cleared[method];
      ASSERT_EQ(open.count(id), 1u) << "a clear follows its raise: " << line;
      open.erase(id);
    }
  }
  for (const char* m : {"threshold", "zscore", "ewma", "mad", "cusum", "rate", "flatline", "missing", "auto"}) {
    EXPECT_GE(raised[m], 1) << m << " raised nothing";
  }
  EXPECT_GE(cleared["missing"], 1) << "the silence ends";
  EXPECT_EQ(states, [&] {
    int n = 0;
    for (const auto& [m, c] : raised) n += c;
    for (const auto& [m, c] : cleared) n += c;
    return n;
  }()) << "one retained state per published alert";
}

}  // namespace
}  // namespace weir::test
