// What `weir run`'s processing loop shows to the service around it (systemd notifications,
// the metrics endpoint): called on the processing thread, so an observer sees a consistent
// engine and a stuck loop stops calling it (which is what the watchdog needs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "weir/time.hpp"

namespace weir::state {
class Outbox;
}

namespace weir::engine {

class Engine;

struct ConnectionView {
  std::string name;
  std::string type;       // mqtt, kafka, sqlite
  bool subscribes = false;  // an ingest connection
  bool connected = false;
  uint64_t received = 0;    // MQTT messages received
  uint64_t published = 0;   // MQTT publishes handed to the client
  uint64_t reconnects = 0;  // connections after the first
  const state::Outbox* outbox = nullptr;
};

struct CheckpointView {
  uint64_t taken = 0;
  uint64_t failed = 0;
  double last_seconds = 0;  // how long the last one took
  TimeMs last_at = kMinTime;
};

struct RunView {
  const Engine& engine;
  std::vector<ConnectionView> connections;
  size_t queue_depth = 0;
  size_t queue_capacity = 0;
  uint64_t journal_depth = 0;  // messages received and not yet in a checkpoint
  CheckpointView checkpoints;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // Connections are up (or given up waiting) and the journal is replayed: weir works.
  virtual void ready(const RunView& view) = 0;
  // Every pass of the processing loop (at least every 50 ms). fill() builds the view; an
  // observer calls it only when it needs one (it walks the connections).
  virtual void tick(TimeMs now, const std::function<RunView()>& fill) = 0;
  virtual void stopping() = 0;
};

}  // namespace weir::engine
