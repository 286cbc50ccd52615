// What the three window stages share: time options (boundary, watermark, lateness, late
// policy, future skew, group cap), the watermark of the stage or of one key, and the queue
// of results waiting for the output.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/window/group_spec.hpp"
#include "weir/component.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

// What a window stage reports for the stats line and metrics.
inline OperatorStats window_stats(uint64_t groups, uint64_t state_bytes, TimeMs watermark) {
  OperatorStats st;
  st.groups = groups;
  st.state_bytes = state_bytes;
  st.watermark = watermark;
  return st;
}

enum class TimeBoundary : uint8_t { kEventTime, kProcessingTime };
enum class WatermarkScope : uint8_t { kPipeline, kPerKey };
enum class LatePolicy : uint8_t { kDeadLetter, kUpdate };

inline constexpr size_t kDefaultMaxGroups = 1000000;

struct WindowTimeOptions {
  TimeBoundary boundary = TimeBoundary::kEventTime;
  WatermarkScope watermark = WatermarkScope::kPipeline;
  LatePolicy late = LatePolicy::kDeadLetter;
  TimeMs allowed_lateness = 0;
  TimeMs idle_timeout = 0;  // 0: none
  TimeMs update_for = 0;    // how long a fired window takes late updates ("update" only)
  TimeMs max_future_skew = kMaxTime;  // $source applies its own (5 minutes) before any stage
  size_t max_groups = kDefaultMaxGroups;
};

// The option rows every window stage has besides its own (interval, gap, ...).
#define WEIR_WINDOW_TIME_OPTIONS                                                                          \
  {"boundary", OptionType::kString, false, "eventTime",                                                 \
   "\"eventTime\" (the reading's time field) or \"processingTime\" (time of arrival)"},                   \
      {"allowedLateness", OptionType::kDuration, false, "0",                                            \
       "how far the watermark trails the highest event time"},                                           \
      {"watermark", OptionType::kString, false, "pipeline",                                             \
       "\"pipeline\" (one watermark) or \"perKey\" (one per group key, for devices with skewed clocks)"}, \
      {"idleTimeout", OptionType::kDuration, false, "none",                                             \
       "fire open windows when no reading arrived for this long (processing time)"},                    \
      {"late", OptionType::kString, false, "dlq",                                                       \
       "readings for fired windows: \"dlq\" (dead-letter topic) or \"update\" (re-emit, revision + 1)"},  \
      {"updateFor", OptionType::kDuration, false, "the interval (sessions: the gap)",                   \
       "with late \"update\": how long after its end (watermark time) a fired window takes updates"},     \
      {"maxFutureSkew", OptionType::kDuration, false, "none (the $source's 5 minutes apply)",           \
       "readings further ahead of processing time go to the dead-letter topic (reason \"future\")"},     \
      {"maxGroups", OptionType::kInteger, false, "1000000",                                             \
       "groups a window holds at most; new groups past it go to the dead-letter topic (\"maxGroups\")"}

// Reads the options above from a stage's spec (its option table already checked).
WindowTimeOptions parse_window_time(const config::Node& spec, TimeMs default_update_for);

// The window's inner pipeline: exactly [{"$group": {...}}].
GroupSpec parse_window_group(const config::Node& spec);

// Arrival checks shared by the window stages; each rejects through ctx and answers whether
// the reading goes on.
// Rejects (reason "future") an event time more than maxFutureSkew ahead of `now`.
bool too_far_ahead(TimeMs t, TimeMs now, const WindowTimeOptions& options, StageContext& ctx);
// The reading's $group _id with its JSON text in `key`; null after rejecting it (reason
// "missing_group") when a field the _id names is missing.
const Value* group_id(const GroupSpec& group, const Value& doc, Value& scratch, std::string& key,
                      StageContext& ctx);

// Event time, watermark and last input of the stage, or of one key with "perKey".
struct WindowClock {
  TimeMs max_event_time = kMinTime;
  TimeMs watermark = kMinTime;
  TimeMs last_input = kMinTime;  // processing time of the last accepted reading
  // Raises the watermark after a reading at t was accepted; true when it moved.
  bool accept(TimeMs t, TimeMs now, TimeMs allowed_lateness) {
    last_input = now;
    if (t > max_event_time) max_event_time = t;
    TimeMs wm = t - allowed_lateness;
    if (wm > watermark) {
      watermark = wm;
      return true;
    }
    return false;
  }
  void raise(TimeMs wm) {
    if (wm > watermark) watermark = wm;
  }
};

// One result waiting to be emitted: a group of a fired window.
struct PendingOutput {
  TimeMs start = 0;
  TimeMs end = 0;
  int64_t revision = 0;
  Value id;
  std::string partition;  // sessions: the partition key (JSON), a tie-break of the order
  GroupState state;
};

// Results of fired windows, emitted in order as the output accepts them. A batch that fired
// together is sorted by end, start, _id, partition before it joins the queue. Each output
// carries _stream_meta {"window": {"start", "end", "revision" (late "update")}, "outputId"}
// (see output_id() in window_state.hpp).
class OutputQueue {
 public:
  OutputQueue(const GroupSpec& group, bool with_revision, std::string pipeline)
      : group_(group), with_revision_(with_revision), pipeline_(std::move(pipeline)) {}
  void add_batch(std::vector<PendingOutput>& batch);
  // Emits while the output is not congested (all when force, or when more than
  // kMaxHeldGroups wait: the output router's own backlog limit applies then).
  void emit(StageContext& ctx, bool force);
  bool empty() const noexcept { return size_ == 0; }
  size_t size() const noexcept { return size_; }
  size_t memory_bytes() const noexcept;

  // Checkpoints: one entry per waiting result, kEntryPrefix + its sequence number (16 hex
  // digits, so that key order is queue order), holding [start, end, revision, _id,
  // partition, state]. kChanged puts the results queued since the previous save and erases
  // those emitted since.
  static constexpr std::string_view kEntryPrefix = "o:";
  void save(StateWriter& out, Operator::SaveMode mode);
  // One kEntryPrefix entry, in key order, into a fresh queue; false (and skipped) when it
  // does not fit. The results are numbered anew; the entries read are erased at the next
  // kChanged save.
  bool load(std::string_view key, const Value& saved);

 private:
  void emit_one(PendingOutput& p, StageContext& ctx);
  uint64_t head_seq() const noexcept;
  const std::string& entry_key(uint64_t seq);
  const GroupSpec& group_;
  const bool with_revision_;
  const std::string pipeline_;  // for the output ids
  // Batches as they fired (moved in whole, not copied); each result's state is released as
  // it is emitted, and a batch once all of it is out. Results are numbered in queue order.
  struct Batch {
    std::vector<PendingOutput> items;
    size_t next = 0;
    uint64_t first_seq = 0;  // the number of items[0]
  };
  std::deque<Batch> queue_;
  size_t size_ = 0;
  uint64_t next_seq_ = 0;    // the number of the next result queued
  uint64_t saved_from_ = 0;  // the results the store holds: [saved_from_, saved_to_)
  uint64_t saved_to_ = 0;
  std::vector<std::string> stale_;  // entries read by load(), erased at the next save
  std::string key_;
  std::string id_text_;
  TimeMs meta_start_ = kMinTime;  // the window of the last formatted _stream_meta
  TimeMs meta_end_ = kMinTime;
  int64_t meta_revision_ = -1;
  Value meta_;
};

// A window stage's per-group checkpoint entries, "<prefix><key>": all of them (kAll), or
// those of the keys listed in `dirty` since the last save, erasing the ones no longer in
// `map` (kChanged). Entries are the map's values with a `dirty` flag; `save` makes the Value.
template <typename Map, typename SaveFn>
void save_entries(StateWriter& out, Operator::SaveMode mode, Map& map, std::vector<std::string>& dirty,
                  std::string_view prefix, std::string& key, SaveFn save) {
  auto entry_key = [&](const std::string& k) -> const std::string& {
    key.assign(prefix);
    key += k;
    return key;
  };
  if (mode == Operator::SaveMode::kAll) {
    for (auto& [k, v] : map) {
      out.put(entry_key(k), save(v));
      v.dirty = false;
    }
  } else {
    for (const std::string& k : dirty) {
      auto it = map.find(k);
      if (it == map.end()) {
        out.erase(entry_key(k));
      } else if (it->second.dirty) {  // (a key listed twice was erased and came back)
        out.put(entry_key(k), save(it->second));
        it->second.dirty = false;
      }
    }
  }
  dirty.clear();
}

// floor(t) on a grid of `step` aligned at `offset`.
inline TimeMs grid_floor(TimeMs t, TimeMs step, TimeMs offset) {
  return floor_div(t - offset, step) * step + offset;
}

}  // namespace weir::pipeline
