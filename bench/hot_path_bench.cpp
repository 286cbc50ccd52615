// The whole per-message hot path through Engine::handle: topic match, JSON decode, time
// extraction, $match, $addFields, the tumbling window and $emit to a sink that drops.
// The pieces on their own are in codec_bench, match_bench and window_bench.
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "engine/engine.hpp"

namespace {

using namespace weir;

constexpr TimeMs kStart = 1767225600000;  // 2026-01-01T00:00:00Z, a window boundary
constexpr TimeMs kStep = 100;             // readings of one device are 100 ms apart
constexpr int64_t kRoundsPerWindow = 10000 / kStep;

// The payload of every reading; its 13 digits of "ts" are rewritten in place for each
// message, so the timed loop neither formats nor allocates.
constexpr std::string_view kPayload = R"({"ts":1767225600000,"temp":21.37,"hum":48.5})";
constexpr size_t kTsOffset = 6;
constexpr size_t kTsDigits = 13;

class NullSink final : public Sink {
 public:
  std::string_view name() const noexcept override { return "null"; }
  SinkResult send(const OutputMessage& m) override {
    ++sent_;
    benchmark::DoNotOptimize(m.payload.data());
    return SinkResult::kOk;
  }
  bool ready() const noexcept override { return true; }
  void poll(std::vector<SinkConfirmation>&) override {}
  uint64_t sent() const noexcept { return sent_; }

 private:
  uint64_t sent_ = 0;
};

void set_ts(std::string& payload, TimeMs ts) {
  std::to_chars(payload.data() + kTsOffset, payload.data() + kTsOffset + kTsDigits, ts);
}

// The realistic pipeline from the README over `devices` devices, one reading each per round,
// rounds 100 ms apart in event time. Processing time (the clock and Message::received)
// follows event time, as for devices with good clocks, so no reading is ahead of
// processing time by more than maxFutureSkew. A window closes every 100 rounds and emits
// one output per device; time per message includes that, amortized.
void BM_EngineRealisticPipeline(benchmark::State& state) {
  const auto devices = static_cast<size_t>(state.range(0));
  auto cfg = config::Config::parse(R"({
    "connections": {"local": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "pipeline": [
      {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "timeField": "ts"}},
      {"$match": {"temp": {"$gte": -40, "$lt": 125}}},
      {"$addFields": {"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}}},
      {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
        "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
          "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"}, "last": {"$last": "$temp"}}}]}},
      {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}]}]})",
                                   "bench.json");
  ManualClock clock(kStart);
  engine::Engine engine(cfg, clock);
  NullSink sink;
  engine.set_sink(0, &sink);
  std::vector<Message> messages(devices);
  for (size_t d = 0; d < devices; ++d) {
    messages[d].topic = "sensors/dev-" + std::to_string(d) + "/telemetry";
    messages[d].payload = std::string(kPayload);
    messages[d].qos = 1;
  }
  TimeMs ts = kStart;
  size_t i = 0;
  for (auto _ : state) {
    Message& m = messages[i];
    set_ts(m.payload, ts);
    m.received = ts;
    engine.handle(m);
    if (++i == devices) {
      i = 0;
      ts += kStep;
      clock.set(ts);
    }
  }
  state.SetItemsProcessed(state.iterations());
  const auto& counters = engine.pipelines().front()->counters();
  state.counters["readings_in"] = static_cast<double>(counters.readings_in);
  state.counters["outputs"] = static_cast<double>(sink.sent());
  state.counters["dead_letters"] = static_cast<double>(counters.dead_letter_total());
  if (counters.dead_letter_total() != 0 || counters.filtered != 0) {
    state.SkipWithError(
        "readings were dead-lettered or filtered: the benchmark is not measuring the pipeline");
  }
}
// For 100,000 devices a window holds 10 million messages, more than a timed run takes by
// itself, so that case runs exactly one window plus the message that closes it.
BENCHMARK(BM_EngineRealisticPipeline)->ArgName("devices")->Arg(1)->Arg(1000);
BENCHMARK(BM_EngineRealisticPipeline)
    ->ArgName("devices")
    ->Arg(100000)
    ->Iterations(kRoundsPerWindow * 100000 + 1);

// A pass-through pipeline: every reading is an output ($addFields, then $emit per device).
// What each output costs beyond the reading: the topic, the payload and the metadata
// (key, output id, headers) the router carries for Kafka, MQTT 5 and $merge.
void BM_EnginePassThrough(benchmark::State& state) {
  auto cfg = config::Config::parse(R"({
    "connections": {"local": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "pipeline": [
      {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "timeField": "ts"}},
      {"$addFields": {"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}}},
      {"$emit": {"connectionName": "local", "topic": "out/{device}"}}]}]})",
                                   "bench.json");
  ManualClock clock(kStart);
  engine::Engine engine(cfg, clock);
  NullSink sink;
  engine.set_sink(0, &sink);
  Message m;
  m.topic = "sensors/dev-7/telemetry";
  m.payload = std::string(kPayload);
  m.qos = 1;
  TimeMs ts = kStart;
  for (auto _ : state) {
    set_ts(m.payload, ts);
    m.received = ts;
    engine.handle(m);
    ts += kStep;
    clock.set(ts);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["outputs"] = static_cast<double>(sink.sent());
  if (sink.sent() != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every reading became an output");
  }
}
BENCHMARK(BM_EnginePassThrough);

}  // namespace
