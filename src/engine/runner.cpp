#include "engine/runner.hpp"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/bounded_queue.hpp"
#include "engine/checkpoint.hpp"
#include "engine/engine.hpp"
#include "ingest/mqtt/mqtt_client.hpp"
#include "sink/mqtt/mqtt_sink.hpp"

namespace weir::engine {

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr TimeMs kTickInterval = 100;
constexpr size_t kBatch = 512;
// Under a steady load the processing thread gathers messages for up to kLinger (or until
// kWakeBatch are queued) before it processes them: one wake-up per batch instead of one
// per message, and the outputs of a batch leave together. Only when messages came less
// than kBusyGap apart, so a quiet stream gets no added delay.
constexpr size_t kWakeBatch = 64;
constexpr auto kLinger = std::chrono::microseconds(500);
constexpr auto kBusyGap = std::chrono::milliseconds(2);
}  // namespace

int run_live(const config::Config& config, const std::atomic<bool>& stop, state::StateStore* store) {
  SteadyWallClock clock;
  Engine engine(config, clock);
  if (store != nullptr) {
    const uint64_t n = load_checkpoint(engine, *store);
    spdlog::info("state: {} entr{} restored from {}", n, n == 1 ? "y" : "ies", store->path());
  }
  // A failed checkpoint (disk full) is logged and tried again next interval; the previous
  // one stays whole.
  auto checkpoint = [&] {
    if (store == nullptr) return;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const CheckpointStats st = save_checkpoint(engine, *store);
      spdlog::debug("checkpoint: {} entries, {} bytes, {} ms", st.entries, st.bytes,
                    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    } catch (const state::StateError& e) {
      spdlog::error("checkpoint failed: {}", e.what());
    }
  };
  const TimeMs checkpoint_every = config.state() ? config.state()->checkpoint_interval_ms : 0;
  core::BoundedQueue<Message> queue(config.engine().queue_capacity);
  queue.set_wake_batch(kWakeBatch);

  std::vector<std::unique_ptr<ingest::MqttClient>> clients;
  std::vector<std::unique_ptr<sink::MqttSink>> sinks;
  const auto& names = engine.connection_names();
  for (uint32_t c = 0; c < names.size(); ++c) {
    const auto& spec = config.connections().at(names[c]);
    clients.push_back(std::make_unique<ingest::MqttClient>(spec, c, clock, [&](Message&& m) {
      queue.push(std::move(m));
    }));
    sinks.push_back(std::make_unique<sink::MqttSink>(*clients.back()));
    engine.set_sink(c, sinks.back().get());
  }
  // However this function is left (an error, an exception), a network thread blocked on a
  // full queue must be released before the clients are destroyed, or their destructors wait
  // for it forever. Declared after clients: destroyed, and so run, before them.
  struct CloseQueue {
    core::BoundedQueue<Message>& q;
    ~CloseQueue() { q.close(); }
  } close_queue{queue};
  const auto subscriptions = engine.subscriptions();
  for (const auto& s : subscriptions) {
    clients[s.connection]->add_subscription(s.filter, s.qos);
    spdlog::info("subscribing to \"{}\" (QoS {}) on connection \"{}\"", s.filter, s.qos, names[s.connection]);
    for (const auto& o : subscriptions) {
      if (&o < &s && o.connection == s.connection && ingest::filters_overlap(o.filter, s.filter)) {
        spdlog::warn("connection \"{}\": topic filters \"{}\" and \"{}\" overlap; a broker that allows "
                     "duplicate messages (mosquitto's default) delivers a message matching both twice",
                     names[s.connection], o.filter, s.filter);
      }
    }
  }
  for (auto& c : clients) {
    std::string error;
    if (!c->start(error)) {
      spdlog::error("connection \"{}\": {}", c->name(), error);
      return 1;
    }
  }
  spdlog::info("weir running {} pipeline(s)", engine.pipelines().size());

  std::vector<Message> batch;
  batch.reserve(kBatch);
  TimeMs last_tick = clock.now();
  TimeMs last_stats = last_tick;
  TimeMs last_checkpoint = last_tick;
  uint64_t last_full_waits = 0;
  auto process_batch = [&] {
    for (auto& m : batch) engine.handle(m);
    batch.clear();
  };
  auto maybe_tick = [&] {
    TimeMs now = clock.now();
    if (now - last_tick >= kTickInterval) {
      engine.tick();
      last_tick = now;
    }
    if (checkpoint_every > 0 && now - last_checkpoint >= checkpoint_every) {
      checkpoint();
      last_checkpoint = now;
    }
    auto interval = config.engine().stats_interval_ms;
    if (interval > 0 && now - last_stats >= interval) {
      uint64_t waits = queue.full_waits();
      spdlog::info("stats: {} queue={} queue_full_waits={}", engine.stats_line(), queue.size(), waits - last_full_waits);
      last_full_waits = waits;
      last_stats = now;
    }
  };

  auto last_batch = std::chrono::steady_clock::now() - kBusyGap;
  while (!stop.load(std::memory_order_relaxed)) {
    if (auto m = queue.pop_for(kPollInterval)) {
      const auto woke = std::chrono::steady_clock::now();
      if (woke - last_batch < kBusyGap) queue.linger(kLinger);
      batch.push_back(std::move(*m));
      queue.drain(batch, kBatch - 1);
      process_batch();
      last_batch = std::chrono::steady_clock::now();
    }
    maybe_tick();
  }

  // Shutdown. Disconnect first, so the broker stops delivering (whatever it sent but we
  // did not acknowledge is delivered again next time), while this thread keeps processing
  // what was already received so a handler blocked on a full queue can return.
  spdlog::info("stopping: disconnecting, {} message(s) queued", queue.size());
  std::atomic<bool> disconnected{false};
  std::thread stopper([&] {
    for (auto& c : clients) c->stop();
    disconnected = true;
  });
  while (!disconnected.load()) {
    if (auto m = queue.pop_for(std::chrono::milliseconds(10))) {
      batch.push_back(std::move(*m));
      queue.drain(batch, kBatch - 1);
      process_batch();
    }
  }
  stopper.join();
  while (queue.drain(batch, kBatch) > 0) process_batch();
  engine.tick();
  checkpoint();
  spdlog::info("stopped: {}", engine.stats_line());
  if (engine.router().backlog() > 0) {
    spdlog::warn("{} output(s) could not be published before shutdown", engine.router().backlog());
  }
  return 0;
}

}  // namespace weir::engine
