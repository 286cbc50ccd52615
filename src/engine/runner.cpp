#include "engine/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/bounded_queue.hpp"
#include "engine/checkpoint.hpp"
#include "engine/durable_ingest.hpp"
#include "engine/engine.hpp"
#include "engine/metrics.hpp"
#include "engine/reload.hpp"
#include "ingest/mqtt/mqtt_client.hpp"
#include "sink/kafka/kafka_sink.hpp"
#include "sink/mqtt/mqtt_sink.hpp"
#include "sink/sqlite/merge_sink.hpp"
#include "state/outbox.hpp"

namespace weir::engine {

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr TimeMs kTickInterval = 100;
constexpr size_t kBatch = 512;
constexpr TimeMs kResumeGrace = 5000;
// Under a steady load the processing thread gathers messages for up to kLinger (or until
// kWakeBatch are queued) before it processes them: one wake-up per batch instead of one
// per message, and the outputs of a batch leave together. Only when messages came less
// than kBusyGap apart, so a quiet stream gets no added delay.
constexpr size_t kWakeBatch = 64;
constexpr auto kLinger = std::chrono::microseconds(500);
constexpr auto kBusyGap = std::chrono::milliseconds(2);
}  // namespace

int run_live(const config::Config& config, const std::atomic<bool>& stop, state::StateStore* store,
             RunObserver* observer, ReloadHook reload) {
  SteadyWallClock clock;
  // The config and engine in force; a reload (SIGHUP) replaces both.
  auto current = std::make_shared<const config::Config>(config);
  auto engine = std::make_unique<Engine>(*current, clock);
  // The journal sequence number the state reflects: messages up to it are in the state.
  uint64_t applied = 0;
  std::unique_ptr<DurableIngest> durable;
  if (store != nullptr) {
    const uint64_t n = load_checkpoint(*engine, *store);
    if (auto es = load_engine_state(*store)) {
      if (const Value* seq = es->find("journalSeq"); seq != nullptr && seq->is_int() && seq->as_int() > 0) {
        applied = static_cast<uint64_t>(seq->as_int());
      }
    }
    spdlog::info("state: {} entr{} restored from {} (journal position {})", n, n == 1 ? "y" : "ies",
                 store->path(), applied);
    try {
      durable = std::make_unique<DurableIngest>(state::Journal::open({.dir = config.state()->journal}), applied);
    } catch (const state::JournalError& e) {
      spdlog::error("journal: {}", e.what());
      return 3;
    }
    const auto& j = durable->journal();
    if (j.truncated_bytes() > 0) {
      spdlog::warn("journal: cut off {} byte(s) of a record torn by a crash or power cut (never acknowledged)",
                   j.truncated_bytes());
    }
  }
  // A checkpoint is taken when every output of the messages it covers has been confirmed by
  // its broker (nothing parked, nothing awaiting a PUBACK): a crash then can only make weir
  // send outputs again (same ids, same content), never lose one. The first checkpoint of a
  // run, and the one after a failed one, writes everything; the others what changed.
  Operator::SaveMode next_mode = Operator::SaveMode::kAll;
  const std::vector<std::string> names = engine->connection_names();  // the same after a reload
  // Per connection: its MQTT client (null for kafka and sqlite connections), and its outbox
  // when it is store-and-forward.
  std::vector<std::unique_ptr<ingest::MqttClient>> clients(names.size());
  std::vector<std::unique_ptr<state::Outbox>> outboxes(names.size());
  // Outputs of connections with an outbox ride in the checkpoint itself; the others must
  // be confirmed before a checkpoint.
  auto outputs_confirmed = [&] {
    if (engine->router().backlog() > 0) return false;
    for (size_t c = 0; c < clients.size(); ++c) {
      if (clients[c] && !outboxes[c] && clients[c]->in_flight() > 0) return false;
    }
    return true;
  };
  CheckpointView checkpoints;
  auto checkpoint = [&]() -> bool {
    if (store == nullptr) return true;
    if (!outputs_confirmed()) return false;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      Value es = Value::object();
      es.set("journalSeq", Value(static_cast<int64_t>(applied)));
      const CheckpointStats st = save_checkpoint(*engine, *store, next_mode, &es);
      next_mode = Operator::SaveMode::kChanged;
      const auto took = std::chrono::steady_clock::now() - t0;
      ++checkpoints.taken;
      checkpoints.last_seconds = std::chrono::duration<double>(took).count();
      checkpoints.last_at = clock.now();
      spdlog::debug("checkpoint: {} entries, {} bytes, {} ms, journal position {}", st.entries, st.bytes,
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), applied);
    } catch (const state::StateError& e) {
      // Logged and tried again next interval, in full; the previous checkpoint stays whole.
      spdlog::error("checkpoint failed: {}", e.what());
      ++checkpoints.failed;
      next_mode = Operator::SaveMode::kAll;
      return false;
    }
    try {
      if (durable) durable->checkpointed(applied);
    } catch (const state::JournalError& e) {
      spdlog::warn("journal: {}", e.what());
    }
    return true;
  };
  const TimeMs checkpoint_every = config.state() ? config.state()->checkpoint_interval_ms : 0;
  core::BoundedQueue<Message> queue(config.engine().queue_capacity);
  queue.set_wake_batch(kWakeBatch);
  // The journal append and the queue push happen under one lock, so messages of several
  // connections reach the engine in the order of their sequence numbers.
  std::mutex ingest_mu;
  auto ingest = [&](Message&& m) {
    if (durable) {
      std::lock_guard lock(ingest_mu);
      if (!durable->admit(m, stop)) return;
      queue.push(std::move(m));
      return;
    }
    queue.push(std::move(m));
  };

  std::vector<std::unique_ptr<Sink>> sinks;
  for (uint32_t c = 0; c < names.size(); ++c) {
    const auto& spec = config.connections().at(names[c]);
    std::string error;
    if (spec.type == "kafka") {
      auto k = std::make_unique<sink::KafkaSink>(spec);
      if (!k->start(error)) {
        spdlog::error("connection \"{}\": {}", spec.name, error);
        return 1;
      }
      sinks.push_back(std::move(k));
    } else if (spec.type == "sqlite") {
      auto m = std::make_unique<sink::MergeSink>(spec.name, spec.sqlite_path);
      if (!m->start(error)) {
        spdlog::error("connection \"{}\": {}", spec.name, error);
        return 1;
      }
      sinks.push_back(std::move(m));
    } else {
      clients[c] = std::make_unique<ingest::MqttClient>(spec, c, clock, ingest);
      sinks.push_back(std::make_unique<sink::MqttSink>(*clients[c]));
    }
    if (spec.outbox) {
      outboxes[c] = std::make_unique<state::Outbox>(spec.name, *spec.outbox, store);
      try {
        outboxes[c]->load();
      } catch (const state::StateError& e) {
        spdlog::error("outbox of connection \"{}\": {}", spec.name, e.what());
        return 3;
      }
      if (store == nullptr) {
        spdlog::warn("connection \"{}\": no state database, so its outbox is kept in memory only (lost at "
                     "exit)", spec.name);
      }
    }
    engine->set_sink(c, sinks.back().get(), outboxes[c].get());
  }
  // However this function is left (an error, an exception), a network thread blocked on a
  // full queue must be released before the clients are destroyed, or their destructors wait
  // for it forever. Declared after clients: destroyed, and so run, before them.
  struct CloseQueue {
    core::BoundedQueue<Message>& q;
    ~CloseQueue() { q.close(); }
  } close_queue{queue};
  auto subscriptions = engine->subscriptions();
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
    if (c && !c->start(error)) {
      spdlog::error("connection \"{}\": {}", c->name(), error);
      return 1;
    }
  }
  {
    // The connections get a moment (10 s at most) to come up: the journal replay below needs
    // them for its outputs, and READY (systemd) means connected. Not those with an outbox,
    // which keeps their outputs; messages arriving meanwhile wait in the queue.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!stop.load() && std::chrono::steady_clock::now() < deadline &&
           !std::all_of(clients.begin(), clients.end(), [&](const auto& c) {
             return !c || c->connected() || outboxes[static_cast<size_t>(&c - clients.data())];
           })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (durable) {
    // What the journal holds after the checkpoint: received and acknowledged before the last
    // stop or crash, not yet in the state. Replayed before anything new (the new messages
    // wait in the queue).
    uint64_t replayed = 0;
    try {
      replayed = durable->replay([&](Message&& m) {
        engine->handle(m);
        applied = m.seq;
        if (++replayed % kBatch == 0) engine->tick();
      });
    } catch (const state::JournalError& e) {
      spdlog::error("journal: {}", e.what());
      return 3;
    }
    if (replayed > 0) spdlog::info("journal: replayed {} message(s) received before the last stop", replayed);
  }
  auto view = [&] {
    RunView v{*engine, {}, queue.size(), config.engine().queue_capacity,
              durable ? durable->journal().last_seq() - applied : 0, checkpoints};
    for (uint32_t c = 0; c < names.size(); ++c) {
      ConnectionView cv;
      cv.name = names[c];
      cv.type = config.connections().at(names[c]).type;
      cv.connected = sinks[c]->connected();
      cv.outbox = outboxes[c].get();
      if (clients[c]) {
        const auto k = clients[c]->counters();
        cv.connected = clients[c]->connected();
        cv.received = k.received;
        cv.published = k.published;
        cv.reconnects = k.connects > 0 ? k.connects - 1 : 0;
        cv.subscribes = std::any_of(subscriptions.begin(), subscriptions.end(),
                                    [&](const Subscription& s) { return s.connection == c; });
      }
      v.connections.push_back(std::move(cv));
    }
    return v;
  };
  const std::function<RunView()> fill_view = view;
  spdlog::info("weir running {} pipeline(s)", engine->pipelines().size());
  if (observer != nullptr) observer->ready(view());

  std::vector<Message> batch;
  batch.reserve(kBatch);
  TimeMs last_tick = clock.now();
  TimeMs last_stats = last_tick;
  TimeMs last_checkpoint = last_tick;
  uint64_t last_full_waits = 0;
  // After restoring a checkpoint, ticks (idle timeouts, dead-man timers) wait for the first
  // message or kResumeGrace: the last reading before the stop may be long ago, and the
  // broker is about to deliver what arrived meanwhile; an idle timeout counted across the
  // downtime would close windows those readings belong to.
  bool ticks_held = durable != nullptr;
  const TimeMs resume_by = clock.now() + kResumeGrace;
  auto process_batch = [&] {
    if (!batch.empty()) ticks_held = false;
    for (auto& m : batch) {
      engine->handle(m);
      if (m.seq != 0) applied = m.seq;
    }
    batch.clear();
  };
  bool checkpoint_due = false;
  TimeMs waiting_since = kMinTime;
  bool warned_waiting = false;
  auto maybe_tick = [&] {
    TimeMs now = clock.now();
    if (ticks_held && now >= resume_by) ticks_held = false;
    if (now - last_tick >= kTickInterval && !ticks_held) {
      engine->tick();
      last_tick = now;
    }
    if (checkpoint_every > 0 && now - last_checkpoint >= checkpoint_every) checkpoint_due = true;
    if (checkpoint_due) {
      if (checkpoint()) {
        checkpoint_due = false;
        last_checkpoint = now;
        if (warned_waiting) spdlog::info("checkpoints again: every output was confirmed");
        waiting_since = kMinTime;
        warned_waiting = false;
      } else if (waiting_since == kMinTime) {
        waiting_since = now;
      } else if (!warned_waiting && now - waiting_since >= 10000) {
        spdlog::warn("no checkpoint for 10 s: outputs wait for their broker ({} parked); the journal "
                     "keeps growing meanwhile", engine->router().backlog());
        warned_waiting = true;
      }
    }
    auto interval = current->engine().stats_interval_ms;
    if (interval > 0 && now - last_stats >= interval) {
      uint64_t waits = queue.full_waits();
      std::string journal;
      if (durable) {
        const auto c = durable->counters();
        journal = fmt::format(" journal_depth={} journal_bytes={} redeliveries_dropped={}",
                              durable->journal().last_seq() - applied, durable->journal().bytes(),
                              c.redeliveries_dropped);
      }
      spdlog::info("stats: {} queue={} queue_full_waits={}{}", engine->stats_line(), queue.size(),
                   waits - last_full_waits, journal);
      last_full_waits = waits;
      last_stats = now;
    }
  };

  // Metrics published as JSON to an MQTT topic (config "metrics.mqtt"): QoS 0, skipped while
  // the connection is down (a metrics document is only worth its moment).
  const config::MetricsMqttSpec* metrics_mqtt =
      config.metrics() && config.metrics()->mqtt ? &*config.metrics()->mqtt : nullptr;
  ingest::MqttClient* metrics_client = nullptr;
  if (metrics_mqtt != nullptr) {
    const auto it = std::find(names.begin(), names.end(), metrics_mqtt->connection);
    if (it != names.end()) metrics_client = clients[static_cast<size_t>(it - names.begin())].get();
  }
  TimeMs last_metrics = kMinTime;
  auto maybe_publish_metrics = [&] {
    if (metrics_client == nullptr) return;
    const TimeMs now = clock.now();
    if (last_metrics != kMinTime && now - last_metrics < metrics_mqtt->interval_ms) return;
    last_metrics = now;
    if (!metrics_client->connected()) return;
    ingest::PublishProperties props;
    props.content_type = "application/json";
    // A retained document outlives weir: let the broker drop it when three are missed.
    if (metrics_mqtt->retain) {
      props.message_expiry_s = static_cast<uint32_t>(std::clamp<TimeMs>(3 * (metrics_mqtt->interval_ms / 1000), 1, UINT32_MAX));
    }
    const int rc = metrics_client->publish(metrics_mqtt->topic, json_metrics(view(), now, WEIR_VERSION), 0,
                                           metrics_mqtt->retain, &props);
    if (rc != 0) spdlog::debug("metrics: publish to \"{}\" failed (code {})", metrics_mqtt->topic, rc);
  };

  auto apply_reload = [&] {
    spdlog::info("reload: reading {} again", current->file());
    std::optional<config::Config> next = reload.read ? reload.read() : std::nullopt;
    if (!next) {
      spdlog::error("reload refused: the new config is not valid; the running one goes on");
      return;
    }
    if (const std::string why = reload_blocker(*current, *next); !why.empty()) {
      spdlog::error("reload refused: {}; the running config goes on", why);
      return;
    }
    auto next_cfg = std::make_shared<const config::Config>(std::move(*next));
    std::unique_ptr<Engine> fresh;
    try {
      fresh = std::make_unique<Engine>(*next_cfg, clock);
    } catch (const config::ConfigError& e) {
      spdlog::error("reload refused: {}; the running config goes on", config::format_config_error(next_cfg->file(), e));
      return;
    }
    for (uint32_t c = 0; c < names.size(); ++c) fresh->set_sink(c, sinks[c].get(), outboxes[c].get());
    fresh->adopt(*engine);
    for (const auto& line : transfer_state(*engine, *current, *fresh, *next_cfg)) spdlog::info("reload: {}", line);
    subscriptions = fresh->subscriptions();
    for (uint32_t c = 0; c < names.size(); ++c) {
      if (!clients[c]) continue;
      std::vector<std::pair<std::string, int>> subs;
      for (const auto& s : subscriptions) {
        if (s.connection == c) subs.emplace_back(s.filter, s.qos);
      }
      clients[c]->set_subscriptions(std::move(subs));
    }
    engine = std::move(fresh);
    current = std::move(next_cfg);
    next_mode = Operator::SaveMode::kAll;  // stages may have moved: the next checkpoint writes all
    checkpoint_due = true;
    spdlog::info("reload: applied; {} pipeline(s) running", engine->pipelines().size());
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
    maybe_publish_metrics();
    if (reload.requested != nullptr && reload.requested->exchange(false)) apply_reload();
    if (observer != nullptr) observer->tick(clock.now(), fill_view);
  }
  if (observer != nullptr) observer->stopping();

  // Shutdown. Outputs already handed to store-and-forward sinks get a moment (2 s at most)
  // for their confirmations, so they leave the outbox now rather than being sent again at
  // the next start; from now on nothing new is handed over (it waits in the outbox).
  engine->router().hold_outboxes();
  for (int i = 0; i < 100 && engine->router().outbox_in_flight() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    engine->router().collect(clock.now());
  }
  // Then disconnect, so the broker stops delivering (whatever it sent but we
  // did not acknowledge is delivered again next time), while this thread keeps processing
  // what was already received so a handler blocked on a full queue can return.
  spdlog::info("stopping: disconnecting, {} message(s) queued", queue.size());
  std::atomic<bool> disconnected{false};
  std::thread stopper([&] {
    for (auto& c : clients) {
      if (c) c->stop();
    }
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
  engine->tick();
  if (store != nullptr && !checkpoint()) {
    // The state stays at the last checkpoint; the journal holds everything since, and the
    // next start replays it and sends these outputs again (same ids, same content).
    spdlog::info("stopping without a final checkpoint: {} output(s) not confirmed by the broker; "
                 "the next start replays them from the journal", engine->router().backlog());
  } else if (engine->router().backlog() > 0) {
    spdlog::warn("{} output(s) could not be published before shutdown", engine->router().backlog());
  }
  spdlog::info("stopped: {}", engine->stats_line());
  return 0;
}

}  // namespace weir::engine
