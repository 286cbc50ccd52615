// The per-reading hot path, piece by piece: decode, match, and the whole engine.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "codec/codec_registry.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"

namespace {

using namespace weir;

const std::string kPayload = R"({"ts":1767225600000,"temp":21.37,"hum":48.5,"seq":12345})";

void BM_JsonDecode(benchmark::State& state) {
  auto codec = codec::make_codec("json", CodecOptions{});
  std::vector<Value> out;
  std::string error;
  for (auto _ : state) {
    out.clear();
    codec->decode(kPayload, DecodeContext{0}, out, error);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPayload.size()));
}
BENCHMARK(BM_JsonDecode);

class NullSink final : public Sink {
 public:
  std::string_view name() const noexcept override { return "null"; }
  SinkResult send(const OutputMessage& m) override {
    benchmark::DoNotOptimize(m.payload.data());
    return SinkResult::kOk;
  }
  bool ready() const noexcept override { return true; }
};

// The realistic pipeline from the README over `devices` devices, one reading each per round.
void BM_EngineRealisticPipeline(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  auto cfg = config::Config::parse(R"({
    "connections": {"local": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "pipeline": [
      {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "timeField": "ts"}},
      {"$match": {"temp": {"$gte": -40, "$lt": 125}}},
      {"$addFields": {"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}}},
      {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
        "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
          "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"}, "last": {"$last": "$temp"}}}]}},
      {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}]}]})", "bench.json");
  ManualClock clock;
  engine::Engine engine(cfg, clock);
  NullSink sink;
  engine.set_sink(0, &sink);
  std::vector<Message> messages(static_cast<size_t>(devices));
  for (int d = 0; d < devices; ++d) {
    messages[static_cast<size_t>(d)].topic = "sensors/dev-" + std::to_string(d) + "/telemetry";
  }
  int64_t ts = 1767225600000;
  size_t i = 0;
  for (auto _ : state) {
    Message& m = messages[i];
    m.payload = "{\"ts\":" + std::to_string(ts) + ",\"temp\":21.37,\"hum\":48.5}";
    engine.handle(m);
    if (++i == messages.size()) {
      i = 0;
      ts += 100;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineRealisticPipeline)->Arg(1)->Arg(1000)->Arg(100000);

}  // namespace
