// $tumblingWindow with the six-accumulator $group of the README, per reading and per close.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/node.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/time_window.hpp"
#include "pipeline/window/tumbling_window.hpp"

namespace {

using namespace weir;

constexpr TimeMs kStart = 1767225600000;  // 2026-01-01T00:00:00Z, a window boundary
constexpr TimeMs kStep = 100;             // readings of one device are 100 ms apart
constexpr TimeMs kWindow = 10000;         // 10 s windows
constexpr int64_t kRoundsPerWindow = kWindow / kStep;

constexpr std::string_view kWindowSpec = R"({"interval": {"size": 10, "unit": "second"},
  "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
    "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"},
    "last": {"$last": "$temp"}}}]})";

// Counts what the window forwards (one record per group of a closed window) and rejects.
class CountingContext final : public StageContext {
 public:
  void forward(Record&& record) override {
    ++forwarded_;
    benchmark::DoNotOptimize(record.doc);
  }
  void reject(std::string_view reason, std::string_view detail) override {
    (void)reason;
    (void)detail;
    ++rejected_;
  }
  TimeMs now() const override { return now_; }

  void set_now(TimeMs t) { now_ = t; }
  uint64_t forwarded() const noexcept { return forwarded_; }
  uint64_t rejected() const noexcept { return rejected_; }

 private:
  TimeMs now_ = kStart;
  uint64_t forwarded_ = 0;
  uint64_t rejected_ = 0;
};

std::unique_ptr<Operator> make_window() {
  const config::Json json = config::Json::parse(kWindowSpec);
  return pipeline::make_tumbling_window(
      config::Node(json, "/pipelines/0/pipeline/3/$tumblingWindow"),
      pipeline::StageBuildContext{"bench", 3, "", {}});
}

// One record per device, as the engine hands them over: {"ts", "temp", "hum", "device"}.
// The window only reads a record, so each device's record is reused with a new event time.
std::vector<Record> make_readings(size_t devices) {
  std::vector<Record> records(devices);
  for (size_t d = 0; d < devices; ++d) {
    Value doc = Value::object();
    doc.reserve(4);
    doc.set("ts", Value(kStart));
    doc.set("temp", Value(15.0 + static_cast<double>(d % 200) * 0.1));
    doc.set("hum", Value(48.5));
    doc.set("device", Value("dev-" + std::to_string(d)));
    records[d].doc = std::move(doc);
  }
  return records;
}

// Hands the devices' readings to a window round-robin, each device's 100 ms after its
// previous one, with processing time following event time.
class RoundRobin {
 public:
  RoundRobin(Operator& window, size_t devices) : window_(window), records_(make_readings(devices)) {}
  void step() {
    Record& r = records_[i_];
    r.event_time = ts_;
    r.processing_time = ts_;
    StageResult result = window_.process(r, ctx_);
    benchmark::DoNotOptimize(result);
    if (++i_ == records_.size()) {
      i_ = 0;
      ts_ += kStep;
      ctx_.set_now(ts_);
    }
  }
  const CountingContext& ctx() const noexcept { return ctx_; }

 private:
  Operator& window_;
  std::vector<Record> records_;
  CountingContext ctx_;
  TimeMs ts_ = kStart;
  size_t i_ = 0;
};

// Readings round-robin over `devices` devices, each device's 100 ms after its previous
// one, so every device has 100 readings per window and a window closes when the first
// reading of the next one arrives (every 100 * devices readings). Time per reading
// includes, amortized, the close and emit of the windows that closed during the run.
void BM_WindowProcess(benchmark::State& state) {
  const auto devices = static_cast<size_t>(state.range(0));
  auto window = make_window();
  RoundRobin feed(*window, devices);
  const CountingContext& ctx = feed.ctx();
  for (auto _ : state) feed.step();
  state.SetItemsProcessed(state.iterations());
  state.counters["emitted"] = static_cast<double>(ctx.forwarded());
  state.counters["rejected"] = static_cast<double>(ctx.rejected());
  if (ctx.rejected() != 0) state.SkipWithError("the window rejected readings");
}
// Readings per window: 100 * devices. For 100,000 devices that is 10 million readings, more
// than a timed run takes by itself, so that case runs exactly one window plus the reading
// that closes it (the window then holds 100,000 groups, as it does in steady state).
BENCHMARK(BM_WindowProcess)->ArgName("groups")->Arg(1)->Arg(1000);
BENCHMARK(BM_WindowProcess)
    ->ArgName("groups")
    ->Arg(100000)
    ->Iterations(kRoundsPerWindow * 100000 + 1);

// Only the close: a window holding `groups` groups (one reading each, filled with the
// timer paused) is closed by the first reading of the next window, which sorts the groups
// by _id, computes the six results and forwards one record per group. Items are groups.
void BM_WindowClose(benchmark::State& state) {
  const auto groups = static_cast<size_t>(state.range(0));
  auto window = make_window();
  std::vector<Record> records = make_readings(groups);
  CountingContext ctx;
  TimeMs window_start = kStart;
  for (auto _ : state) {
    state.PauseTiming();
    // records[0] already sits in this window: the reading that closed the previous one.
    for (size_t d = window_start == kStart ? 0 : 1; d < groups; ++d) {
      records[d].event_time = window_start;
      window->process(records[d], ctx);
    }
    window_start += kWindow;
    records[0].event_time = window_start;
    ctx.set_now(window_start);
    const uint64_t before = ctx.forwarded();
    state.ResumeTiming();

    StageResult result = window->process(records[0], ctx);
    benchmark::DoNotOptimize(result);

    state.PauseTiming();
    if (ctx.forwarded() - before != groups) {
      state.SkipWithError("the close did not emit one record per group");
      break;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(groups));
}
// A close takes long enough that the default minimum time would give only one or two
// iterations; five fixed ones cost about a second including the untimed filling.
BENCHMARK(BM_WindowClose)
    ->ArgName("groups")
    ->Arg(100000)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace


// $hoppingWindow of 1 hour sliding every second over `devices` devices, each reporting every
// 100 ms: 10,000 readings and 1,000 results per second of event time at 1,000 devices. Each
// reading updates one 1-second pane; each result costs a constant number of pane merges. The
// window is first filled with a full hour (untimed), so the timed part runs in the steady
// state: 3,600 panes per device held, one window fired per device per second.
constexpr std::string_view kHoppingSpec = R"({"interval": {"size": 1, "unit": "hour"},
  "hopSize": {"size": 1, "unit": "second"},
  "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
    "max": {"$max": "$temp"}}}]})";

void BM_HoppingWindow1h1s(benchmark::State& state) {
  const auto devices = static_cast<size_t>(state.range(0));
  const config::Json json = config::Json::parse(kHoppingSpec);
  auto window = pipeline::make_hopping_window(
      config::Node(json, "/pipelines/0/pipeline/1/$hoppingWindow"), pipeline::StageBuildContext{"bench", 1, "", {}});
  RoundRobin feed(*window, devices);
  const CountingContext& ctx = feed.ctx();
  const int64_t fill = 3600 * (1000 / kStep) * static_cast<int64_t>(devices);
  for (int64_t n = 0; n < fill; ++n) feed.step();
  const uint64_t emitted_before = ctx.forwarded();
  for (auto _ : state) feed.step();
  state.SetItemsProcessed(state.iterations());
  state.counters["results"] = static_cast<double>(ctx.forwarded() - emitted_before);
  const auto* w = dynamic_cast<const pipeline::TimeWindow*>(window.get());
  state.counters["state_MiB"] = static_cast<double>(w->memory_bytes()) / (1024.0 * 1024.0);
  if (ctx.rejected() != 0) state.SkipWithError("the window rejected readings");
}
// 600 seconds of event time after the hour of filling.
BENCHMARK(BM_HoppingWindow1h1s)->ArgName("devices")->Arg(1000)->Iterations(6000000)->Unit(benchmark::kMillisecond);
