// $detect: the cost of each method per reading on one series, and of the whole stage
// (lookup of the partition, the methods, _anomaly) per reading over many devices.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/detect/auto_detector.hpp"
#include "pipeline/detect/detect_stage.hpp"
#include "pipeline/detect/detector_method.hpp"

namespace {

using namespace weir;
using namespace weir::pipeline::detect;

constexpr TimeMs kStart = 1767225600000;
constexpr TimeMs kStep = 1000;

// A sensor-like series: mean-reverting walk plus a daily cycle, an occasional spike.
std::vector<double> series(size_t n) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> step(0.0, 0.1);
  std::vector<double> xs(n);
  double walk = 0.0;
  for (size_t i = 0; i < n; ++i) {
    walk = 0.95 * walk + step(rng);
    xs[i] = 20.0 + 3.0 * std::sin(static_cast<double>(i) * 2.0 * M_PI / 86400.0) + walk +
            (i % 997 == 0 ? 15.0 : 0.0);
  }
  return xs;
}

MethodSpec spec_for(MethodKind kind) {
  MethodSpec s;
  s.kind = kind;
  s.min = 0;
  s.max = 40;
  s.window = 60;
  s.threshold = kind == MethodKind::kAuto ? AutoDetector::kThreshold : 3.0;
  s.max_per_second = 1.0;
  s.duration = 5000;
  return s;
}

void BM_Method(benchmark::State& state) {
  const auto kind = static_cast<MethodKind>(state.range(0));
  MethodSpec spec = spec_for(kind);
  if (state.range(1) > 0) spec.window = static_cast<size_t>(state.range(1));
  auto method = make_method_state(spec);
  const std::vector<double> xs = series(1 << 16);
  size_t i = 0;
  TimeMs t = kStart;
  for (auto _ : state) {
    Judgement j = method->update(t, xs[i]);
    benchmark::DoNotOptimize(j);
    t += kStep;
    i = (i + 1) & (xs.size() - 1);
  }
  state.SetLabel(std::string(method_name(kind)));
  state.counters["state_bytes"] = static_cast<double>(method->memory_bytes());
  state.SetItemsProcessed(state.iterations());
}
// Every method but "missing", which is a timer of the stage (see BM_DetectStageMissing).
// Second argument: the window of zscore and mad (0: 60 readings).
BENCHMARK(BM_Method)
    ->ArgNames({"method", "window"})
    ->Args({static_cast<int>(MethodKind::kThreshold), 0})
    ->Args({static_cast<int>(MethodKind::kZScore), 0})
    ->Args({static_cast<int>(MethodKind::kEwma), 0})
    ->Args({static_cast<int>(MethodKind::kMad), 0})
    ->Args({static_cast<int>(MethodKind::kMad), 300})
    ->Args({static_cast<int>(MethodKind::kCusum), 0})
    ->Args({static_cast<int>(MethodKind::kRate), 0})
    ->Args({static_cast<int>(MethodKind::kFlatline), 0})
    ->Args({static_cast<int>(MethodKind::kAuto), 0});

class NullContext final : public StageContext {
 public:
  void forward(Record&& record) override { (void)record; }
  void reject(std::string_view reason, std::string_view detail) override {
    (void)reason;
    (void)detail;
  }
  TimeMs now() const override { return now_; }
  void publish(uint32_t connection, OutputMessage&& message) override {
    (void)connection;
    ++published;
    benchmark::DoNotOptimize(message);
  }
  TimeMs now_ = kStart;
  uint64_t published = 0;
};

// The stage as the engine runs it: 1,000 devices round-robin; with one tick per round when
// the methods include the dead-man timer.
void run_stage(benchmark::State& state, const char* spec) {
  const config::Json json = config::Json::parse(spec);
  pipeline::StageBuildContext ctx{"bench", 1, "out", {}};
  auto stage = make_detect(config::Node(json, "/d"), ctx);
  constexpr int kDevices = 1000;
  std::vector<std::string> ids;
  for (int d = 0; d < kDevices; ++d) ids.push_back("dev-" + std::to_string(d));
  const std::vector<double> xs = series(1 << 16);
  NullContext out;
  size_t i = 0;
  for (auto _ : state) {
    Record r;
    r.doc = Value::object();
    r.doc.set("device", Value(ids[i % kDevices]));
    r.doc.set("temp", Value(xs[(i / kDevices) & (xs.size() - 1)]));
    r.event_time = kStart + static_cast<TimeMs>(i / kDevices) * kStep;
    out.now_ = r.event_time;
    stage->process(r, out);
    if (++i % kDevices == 0) stage->on_tick(out);
  }
  state.counters["alerts"] = static_cast<double>(out.published);
  state.counters["state_bytes_per_series"] =
      static_cast<double>(stage->stats().state_bytes) / static_cast<double>(stage->stats().groups);
  state.SetItemsProcessed(state.iterations());
}
void BM_DetectStage(benchmark::State& state) {
  run_stage(state, R"({"partitionBy": "$device", "field": "temp",
    "methods": {"threshold": {"max": 60}, "zscore": {"window": 60}, "auto": {}},
    "alerts": {"topic": "alerts/{device}"}})");
}
BENCHMARK(BM_DetectStage);

void BM_DetectStageMissing(benchmark::State& state) {
  run_stage(state, R"({"partitionBy": "$device", "field": "temp",
    "methods": {"missing": {"after": {"size": 5, "unit": "second"}}},
    "alerts": {"topic": "alerts/{device}"}})");
}
BENCHMARK(BM_DetectStageMissing);

}  // namespace
