// A pipeline stage. Stateless stages answer per record; stateful ones (windows,
// detectors) hold results and forward them when time moves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "weir/record.hpp"
#include "weir/sink.hpp"
#include "weir/state.hpp"
#include "weir/time.hpp"

namespace weir {

// What a stage did with a record.
enum class StageResult : uint8_t {
  kPass,        // continue to the next stage with the (possibly changed) record
  kDrop,        // filtered out on purpose ($match false, validationAction discard)
  kConsumed,    // taken into the stage's state (a window); results come later via forward()
  kDeadLetter,  // rejected: the stage called StageContext::reject() with the reason
};

// Handed to a stage by its pipeline: where results go, and the time the engine says it is.
class StageContext {
 public:
  virtual ~StageContext() = default;
  // Sends a new record into the stages after this one.
  virtual void forward(Record&& record) = 0;
  // Records the reason for a kDeadLetter answer (reason: a short token such as "late";
  // detail: a human-readable sentence).
  virtual void reject(std::string_view reason, std::string_view detail) = 0;
  // Processing time now, as the engine's clock says.
  virtual TimeMs now() const = 0;
  // True while the outputs of this pipeline back up (its sink does not accept more just
  // now). A stage that emits in bulk, such as a window closing thousands of groups, holds
  // the rest back and continues on a later tick, so they wait as compact state rather than
  // as formatted messages.
  virtual bool congested() const { return false; }
  // Publishes a side output, such as an alert, on a connection: `connection` is the index
  // the stage got from StageBuildContext::connection when it was built. The engine owns
  // retry, as for $emit.
  virtual void publish(uint32_t connection, OutputMessage&& message) {
    (void)connection;
    (void)message;
  }
};

// What a stateful stage holds: groups (per window, pane or session) and the bytes of their
// state, accumulators' heap memory and results waiting for the output included.
struct OperatorStats {
  uint64_t groups = 0;
  uint64_t state_bytes = 0;
  // Alerts published by detectors, and those held back by the alert rate limit.
  uint64_t alerts_raised = 0;
  uint64_t alerts_cleared = 0;
  uint64_t alerts_suppressed = 0;
  // Event-time watermark of a window stage (the lowest over keys with per-key watermarks);
  // kMinTime when it has none yet or the stage has no watermark.
  TimeMs watermark = kMinTime;
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual StageResult process(Record& record, StageContext& ctx) = 0;
  // Processing time has moved to ctx.now() (called on every engine tick): idle timeouts,
  // dead-man timers.
  virtual void on_tick(StageContext& ctx) { (void)ctx; }
  // End of input (replay, shutdown of a finite source): emit what is pending.
  virtual void flush(StageContext& ctx) { (void)ctx; }
  // Held state, for the stats line and metrics (walks the state: not for the data path).
  virtual OperatorStats stats() const { return {}; }
  // State for checkpoints. Stateless stages keep the defaults.
  // kAll writes every entry (into a stage the store has just cleared); kChanged writes the
  // entries changed since the previous save and erases those that no longer exist (groups
  // of closed windows). Either way the stage then counts itself clean. A stage keeps an
  // entry under kStageKey with its own small state; for `weir state` it is an object with,
  // where they apply, "kind" (the stage name), "groups", "openWindows" and "watermark"
  // (epoch milliseconds, null before the first reading).
  enum class SaveMode : uint8_t { kChanged, kAll };
  static constexpr std::string_view kStageKey = "#stage";
  virtual void save(StateWriter& out, SaveMode mode) { (void)out, (void)mode; }
  virtual void load(StateReader& in) { (void)in; }
};

}  // namespace weir
