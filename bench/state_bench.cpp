// The state store and the journal: what journaling one QoS 1 message costs, and what a
// checkpoint of many changed groups costs, on real files under /tmp.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/checkpoint.hpp"
#include "engine/engine.hpp"
#include "state/journal.hpp"
#include "state/outbox.hpp"
#include "state/sqlite/state_store.hpp"

namespace {

using namespace weir::state;
namespace fs = std::filesystem;

std::string temp_dir() {
  char tmpl[] = "/tmp/weir-state-bench-XXXXXX";
  return ::mkdtemp(tmpl);
}

// One append per message, as the MQTT thread does before the PUBACK: a ~100-byte JSON
// reading on a sensor topic.
void BM_JournalAppend(benchmark::State& state) {
  const std::string dir = temp_dir();
  {
    auto j = Journal::open({.dir = dir});
    const std::string payload =
        R"({"ts":1767225600000,"temp":21.73,"hum":45.38,"seq":123456,"device":"dev-0001","x":0})";
    uint64_t n = 0;
    for (auto _ : state) {
      benchmark::DoNotOptimize(j->append(0, static_cast<uint32_t>(n & 0xFFFF), 1767225600000 + static_cast<int64_t>(n), "sensors/dev-0001/telemetry", payload));
      if (++n % 100000 == 0) j->trim(j->last_seq() - 1);  // as checkpoints would
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["segments"] = static_cast<double>(j->segments());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_JournalAppend);

// A checkpoint: `groups` changed entries of ~200 bytes written in one transaction (WAL,
// synchronous=NORMAL), replacing the previous checkpoint's entries.
void BM_Checkpoint(benchmark::State& state) {
  const std::string dir = temp_dir();
  {
    auto store = StateStore::open({.path = dir + "/weir.db"});
    const int64_t groups = state.range(0);
    std::string value(200, 'v');
    std::string key;
    int64_t round = 0;
    for (auto _ : state) {
      store->begin();
      for (int64_t g = 0; g < groups; ++g) {
        key = "window/2026-01-01T00:00:00Z/dev-" + std::to_string(g);
        value[0] = static_cast<char>('a' + round % 26);
        store->put("room-temps", 5, key, value);
      }
      store->commit();
      ++round;
    }
    state.SetItemsProcessed(state.iterations() * groups);
    state.counters["groups"] = static_cast<double>(groups);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_Checkpoint)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// What weir's checkpoint costs with real stage state: the realistic pipeline's 1-minute
// tumbling window (six accumulators) holding `groups` devices, each of which had a reading
// since the previous checkpoint; save_checkpoint(kChanged) serialises those groups and
// writes them in one transaction (WAL, synchronous=NORMAL). The readings are not timed.
void BM_CheckpointWindowGroups(benchmark::State& state) {
  using namespace weir;
  const std::string dir = temp_dir();
  {
    const auto groups = static_cast<size_t>(state.range(0));
    auto cfg = config::Config::parse(R"({
      "connections": {"local": {"type": "mqtt"}},
      "pipelines": [{"name": "p", "pipeline": [
        {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "timeField": "ts"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
          "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
            "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"}, "last": {"$last": "$temp"}}}]}},
        {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}]}]})",
                                     "bench.json");
    const TimeMs start = 1767225600000;
    ManualClock clock(start);
    engine::Engine engine(cfg, clock);
    auto store = StateStore::open({.path = dir + "/weir.db"});
    std::vector<Message> messages(groups);
    for (size_t d = 0; d < groups; ++d) {
      messages[d].topic = "sensors/dev-" + std::to_string(d) + "/telemetry";
      messages[d].received = start;
    }
    int64_t round = 0;
    uint64_t entries = 0;
    engine::save_checkpoint(engine, *store, Operator::SaveMode::kAll);
    for (auto _ : state) {
      state.PauseTiming();
      ++round;
      for (auto& m : messages) {
        m.payload = "{\"ts\":" + std::to_string(start + round) + ",\"temp\":" + std::to_string(20 + round % 7) + ".5}";
        engine.handle(m);
      }
      state.ResumeTiming();
      entries = engine::save_checkpoint(engine, *store, Operator::SaveMode::kChanged).entries;
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(groups));
    state.counters["entries"] = static_cast<double>(entries);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_CheckpointWindowGroups)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

namespace {

using weir::OutputMessage;

OutputMessage bench_output(int64_t i) {
  OutputMessage m;
  m.topic = "gateway.aggregates";
  m.payload = R"({"_id":"dev-)" + std::to_string(i % 1000) +
              R"(","n":60,"avg":21.73,"min":20.1,"max":23.4,"_stream_meta":{"window":{"start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:01:00.000Z"},"outputId":"0123456789abcdef"}})";
  m.key = "dev-" + std::to_string(i % 1000);
  m.output_id = "0123456789abcdef";
  m.headers = {{"weir-pipeline", "minute-aggregates"},
               {"weir-window-start", "2026-01-01T00:00:00.000Z"},
               {"weir-window-end", "2026-01-01T00:01:00.000Z"}};
  return m;
}

}  // namespace

// The outbox's cost per output on a healthy link: added, handed to the sink, confirmed,
// with a checkpoint every 1,000 outputs (entries written, confirmed ones erased).
void BM_OutboxPassThrough(benchmark::State& state) {
  const std::string dir = temp_dir();
  {
    auto store = StateStore::open({.path = dir + "/weir.db"});
    Outbox box("cloud", weir::config::OutboxSpec{}, store.get());
    box.set_connected(true, 0);
    int64_t i = 0;
    std::vector<uint64_t> tickets;
    for (auto _ : state) {
      box.add(bench_output(i), i);
      if (const OutputMessage* m = box.next(i)) {
        tickets.push_back(m->ticket);
        box.sent();
      }
      if (tickets.size() >= 100) {
        for (uint64_t t : tickets) box.confirm(t, true);
        tickets.clear();
      }
      if (++i % 1000 == 0) {
        store->begin();
        box.save();
        store->commit();
        box.committed();
      }
    }
    state.SetItemsProcessed(state.iterations());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_OutboxPassThrough);

// An outage: `n` outputs pile up (saved by checkpoints of 1,000), then the backlog drains
// (read back from the database in batches, confirmed, erased). Reports the time per output
// for the whole cycle and the index's memory per waiting output.
void BM_OutboxBacklog(benchmark::State& state) {
  const std::string dir = temp_dir();
  const int64_t n = state.range(0);
  {
    auto store = StateStore::open({.path = dir + "/weir.db"});
    for (auto _ : state) {
      Outbox box("cloud", weir::config::OutboxSpec{}, store.get());
      for (int64_t i = 0; i < n; ++i) {
        box.add(bench_output(i), i);
        if ((i + 1) % 1000 == 0) {
          store->begin();
          box.save();
          store->commit();
          box.committed();
        }
      }
      state.counters["body_bytes_held"] = static_cast<double>(box.body_bytes());
      box.set_connected(true, n + 20000);
      int64_t sent = 0;
      while (const OutputMessage* m = box.next(n + 20000)) {
        const uint64_t t = m->ticket;
        box.sent();
        box.confirm(t, true);
        if (++sent % 1000 == 0) {
          store->begin();
          box.save();
          store->commit();
          box.committed();
        }
      }
      store->begin();
      box.save();
      store->commit();
      box.committed();
      if (sent != n) state.SkipWithError("not every output was sent");
    }
    state.SetItemsProcessed(state.iterations() * n);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_OutboxBacklog)->Arg(100000)->Unit(benchmark::kMillisecond)->MinTime(1.0);
