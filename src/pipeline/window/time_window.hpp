// The engine of $tumblingWindow and $hoppingWindow: windows of a fixed length on a grid,
// per group, in panes.
//
// A hopping window of length I every H is cut into panes of gcd(I, H); a reading updates
// exactly one pane, whatever I / H is. The result of a window is the merge of its panes,
// kept up to date with the two-stacks sliding aggregation: panes enter a "back" aggregate as
// the window moves over them, and leave through a "front" stack of suffix aggregates built
// once every I / H hops, so each window costs a constant number of merges on average (a
// 1-hour window sliding every second does not merge 3,600 panes per result). A tumbling
// window is the case H = I: one pane per window, and the pane is the result.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipeline/stage_factory.hpp"
#include "pipeline/window/group_spec.hpp"
#include "pipeline/window/window_options.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

struct TimeWindowOptions {
  TimeMs interval = 0;
  TimeMs hop = 0;  // == interval: tumbling
  TimeMs offset = 0;
  WindowTimeOptions time;
  std::string_view kind = "$tumblingWindow";  // the stage's name, in its saved state
};

class TimeWindow final : public Operator {
 public:
  TimeWindow(TimeWindowOptions options, GroupSpec group, std::string pipeline);

  StageResult process(Record& record, StageContext& ctx) override;
  void on_tick(StageContext& ctx) override;
  void flush(StageContext& ctx) override;
  OperatorStats stats() const override { return window_stats(groups(), memory_bytes(), watermark()); }
  // The stage's watermark (the lowest of the keys' with watermark "perKey").
  TimeMs watermark() const;
  // Checkpoints. Entries: kStageKey {"kind", "config" (a hash of what the saved state
  // depends on: another config's rows are ignored), "groups", "openWindows", "watermark",
  // "clock", "nextEnd", "firedUpto", "lastSweep"}; one per key, "k:" + the JSON text of
  // _id (see save_key()); the results waiting for the output (OutputQueue::save).
  void save(StateWriter& out, SaveMode mode) override;
  void load(StateReader& in) override;

  // The latest window start at or before t (for a tumbling window: the window holding t).
  TimeMs window_start(TimeMs t) const noexcept { return grid_floor(t, options_.hop, options_.offset); }
  TimeMs pane_size() const noexcept { return pane_; }
  // Groups with data, and the bytes their state takes (panes, aggregates, waiting results).
  size_t groups() const noexcept;
  size_t memory_bytes() const noexcept;
  // Results of fired windows waiting for the output.
  size_t pending_outputs() const noexcept { return out_.size(); }

 private:
  struct Pane {
    TimeMs start = 0;
    GroupState raw;  // the pane's own readings (see front_state())
  };
  // A key's panes by start: a vector that leaves from the front in amortized O(1) (a deque
  // costs over 500 bytes per key even for the one pane of a tumbling window).
  class PaneList {
   public:
    using iterator = std::vector<Pane>::iterator;
    iterator begin() noexcept { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
    iterator end() noexcept { return v_.end(); }
    std::vector<Pane>::const_iterator begin() const noexcept { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
    std::vector<Pane>::const_iterator end() const noexcept { return v_.end(); }
    bool empty() const noexcept { return head_ == v_.size(); }
    size_t size() const noexcept { return v_.size() - head_; }
    Pane& front() noexcept { return v_[head_]; }
    iterator insert(iterator it, Pane&& p) { return v_.insert(it, std::move(p)); }
    void erase(iterator it);

   private:
    std::vector<Pane> v_;
    size_t head_ = 0;  // panes before it have left
  };
  // The sliding aggregation of a key (hopping): panes starting in [ws, fe) are the front
  // stack, those in [fe, we) are merged into `back`; ws is the start of the last window queried.
  struct Sliding {
    TimeMs ws = 0, fe = 0, we = 0;
    GroupState back;
    // Late "update" only: the front stack's suffix aggregates by pane start (the panes keep
    // their own states for re-emitting fired windows).
    std::map<TimeMs, GroupState> front;
  };
  using Revisions = std::map<TimeMs, int64_t>;  // fired window start -> last revision
  // One group. What only some windows need is allocated only for them, so a tumbling window
  // of 100,000 devices pays for none of it.
  struct Key {
    Value id;
    PaneList panes;
    TimeMs fired_end = kMinTime;        // every window ending at or before this has fired
    std::unique_ptr<Sliding> sliding;   // hopping, while the key has panes
    std::unique_ptr<Revisions> revisions;  // late "update", while fired windows are kept
    std::unique_ptr<WindowClock> clock;  // watermark "perKey"
    bool dirty = false;                  // changed since the last save (listed in dirty_)
  };

  bool tumbling() const noexcept { return options_.hop == options_.interval; }
  // A front-stack pane's suffix aggregate. Without late updates nothing reads a pane again
  // once it is in the front stack, so its own state becomes the aggregate (no copy).
  GroupState& front_state(Sliding& w, Pane& p) { return update_ ? w.front[p.start] : p.raw; }
  WindowClock& clock_of(Key& k) noexcept { return per_key_ ? *k.clock : clock_; }
  PaneList::iterator find_pane(Key& k, TimeMs start);
  // Adds the reading at t (pane ps) to the key's panes and aggregates.
  void add(Key& k, TimeMs ps, const Record& r, TimeMs t);
  // The start of the first window ending after `after` that holds one of the key's panes.
  TimeMs next_window(const Key& k, TimeMs after) const;
  // Fires the key's windows ending at or before `upto` into batch_; true when the key's
  // saved state changed.
  bool fire_key(Key& k, TimeMs upto);
  // Moves the sliding aggregation to the window [s, e) and returns its result.
  GroupState slide(Key& k, TimeMs s, TimeMs e);
  // A fired window's result recomputed from its panes (late "update").
  void reemit(Key& k, TimeMs s);
  // Drops panes no window still needs; true when it dropped something.
  bool prune(Key& k, TimeMs watermark);
  void erase_pane(Key& k, PaneList::iterator it);
  // Pipeline watermark: fires every key's windows up to the watermark.
  void fire_all();
  // Pipeline watermark: fires what the watermark reached, or notes that nothing did.
  void sync_pipeline();
  // Pipeline watermark: raises it to `watermark`, firing and emitting window by window.
  void advance_to(TimeMs watermark, StageContext& ctx, bool force);
  void after_fire(StageContext& ctx);
  // Checkpoints: the key (text `key`) changed, or is about to be erased from keys_.
  void mark(const std::string& key, Key& k);
  void forget(const std::string& key, const Key& k);
  size_t open_windows() const;
  Value stage_entry() const;
  bool load_stage(const Value& v);
  // A key's entry: {"id", "panes": [start, state, ...], "sliding": [ws, fe, we, back,
  // [start, state, ...]] (hopping), "revisions": [start, revision, ...] (late "update"),
  // "firedEnd" and "clock" (watermark "perKey"; else every key's windows have fired up to
  // firedUpto)}. States as GroupState::save; front-stack panes hold what they hold (suffix
  // aggregates, without late updates).
  Value save_key(const Key& k) const;
  bool load_key(const Value& v, Key& k) const;

  const TimeWindowOptions options_;
  const GroupSpec group_;
  const std::string pipeline_;
  const TimeMs pane_;  // gcd(interval, hop)
  const bool per_key_;
  const bool update_;
  const std::string config_;  // what the saved state depends on, hashed
  std::unordered_map<std::string, Key> keys_;  // by the JSON text of _id
  WindowClock clock_;              // watermark "pipeline"
  TimeMs next_end_ = kMaxTime;     // pipeline: the earliest end of a window not fired yet
  TimeMs fired_upto_ = kMinTime;   // pipeline: every key's windows ending at or before this fired
  // Groups per pane start: for tumbling windows per window (maxGroups); openWindows.
  std::map<TimeMs, size_t> window_groups_;
  size_t live_keys_ = 0;                    // keys holding panes
  OutputQueue out_;
  std::vector<PendingOutput> batch_;
  std::string key_buffer_;
  TimeMs last_sweep_ = kMinTime;
  std::vector<std::string> dirty_;  // keys changed or erased since the last save
  std::string entry_key_;
};

}  // namespace weir::pipeline
