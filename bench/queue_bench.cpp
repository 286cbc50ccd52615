// core::BoundedQueue<Message>: the hand-over from the MQTT threads to the engine thread.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/bounded_queue.hpp"
#include "weir/record.hpp"

namespace {

using namespace weir;

constexpr size_t kCapacity = 10000;
constexpr size_t kBatch = 256;  // what the engine thread drains at once after a wake-up
constexpr std::chrono::milliseconds kPopTimeout{1000};

Message make_message() {
  Message m;
  m.connection = 0;
  m.topic = "sensors/dev-0042/telemetry";
  m.payload = R"({"ts":1767225600000,"temp":21.37,"hum":48.5,"seq":12345})";
  m.received = 1767225600000;
  m.qos = 1;
  return m;
}

// One thread pushes a message and pops it again: the cost of the lock, the deque and the
// two notifications without contention. The message's strings move in and out (no copies).
void BM_QueueRoundTrip(benchmark::State& state) {
  core::BoundedQueue<Message> queue(kCapacity);
  Message m = make_message();
  for (auto _ : state) {
    queue.push(std::move(m));
    std::optional<Message> back = queue.pop_for(std::chrono::milliseconds(0));
    m = std::move(*back);
    benchmark::DoNotOptimize(m.payload.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueRoundTrip);

// A producer thread (the MQTT callback) copies a message's topic and payload into a new
// Message and pushes it, as the client does with each message it receives; the timed
// thread is the consumer. Items/s is the throughput through the queue, wall-clock.
// drain=0: one pop_for per message; drain=1: pop_for, then drain up to 255 more (what the
// engine thread does).
void BM_QueueProducerConsumer(benchmark::State& state) {
  const bool drain = state.range(0) != 0;
  core::BoundedQueue<Message> queue(kCapacity);
  const Message tmpl = make_message();
  const auto total = static_cast<uint64_t>(state.max_iterations);
  std::atomic<bool> go{false};
  std::thread producer([&] {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    for (uint64_t n = 0; n < total; ++n) {
      Message m;
      m.connection = tmpl.connection;
      m.topic = tmpl.topic;
      m.payload = tmpl.payload;
      m.received = tmpl.received;
      m.qos = tmpl.qos;
      if (!queue.push(std::move(m))) return;
    }
  });
  std::vector<Message> batch;
  batch.reserve(kBatch);
  size_t next = 0;
  uint64_t timeouts = 0;
  go.store(true, std::memory_order_release);
  for (auto _ : state) {
    if (drain) {
      if (next == batch.size()) {
        batch.clear();
        next = 0;
        if (auto m = queue.pop_for(kPopTimeout)) {
          batch.push_back(std::move(*m));
          queue.drain(batch, kBatch - 1);
        } else {
          ++timeouts;
          continue;
        }
      }
      benchmark::DoNotOptimize(batch[next].payload.data());
      ++next;
    } else {
      std::optional<Message> m = queue.pop_for(kPopTimeout);
      if (!m) ++timeouts;
      benchmark::DoNotOptimize(m);
    }
  }
  queue.close();
  producer.join();
  state.SetItemsProcessed(state.iterations());
  state.counters["full_waits"] = static_cast<double>(queue.full_waits());
  if (timeouts != 0) state.SkipWithError("the consumer timed out waiting for the producer");
}
BENCHMARK(BM_QueueProducerConsumer)->ArgName("drain")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
