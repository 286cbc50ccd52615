// $sessionWindow: per partition, readings less than `gap` apart form one session; a session
// fires when the watermark passes its last reading + gap. Out-of-order readings that bridge
// two sessions merge them; `maxDuration` cuts sessions at multiples of it from the epoch.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/stage_factory.hpp"
#include "pipeline/window/group_spec.hpp"
#include "pipeline/window/window_options.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

struct SessionWindowOptions {
  TimeMs gap = 0;
  TimeMs max_duration = 0;  // 0: none
  WindowTimeOptions time;
};

class SessionWindow final : public Operator {
 public:
  SessionWindow(SessionWindowOptions options, GroupSpec group, std::unique_ptr<Expression> partition_by,
                std::string pipeline);

  StageResult process(Record& record, StageContext& ctx) override;
  void on_tick(StageContext& ctx) override;
  void flush(StageContext& ctx) override;
  OperatorStats stats() const override { return window_stats(groups(), memory_bytes(), watermark()); }
  // The stage's watermark (the lowest of the keys' with watermark "perKey").
  TimeMs watermark() const;
  // Checkpoints. Entries: kStageKey {"kind", "config" (a hash of what the saved state
  // depends on: another config's rows are ignored), "groups", "openWindows" (open
  // sessions), "watermark", "clock", "lastSweep"}; one per partition, "p:" + the JSON text
  // of its partitionBy value (see save_partition()); the results waiting for the output
  // (OutputQueue::save).
  void save(StateWriter& out, SaveMode mode) override;
  void load(StateReader& in) override;

  // Group states held by open (and, with late "update", kept) sessions.
  size_t groups() const noexcept { return live_groups_; }
  size_t memory_bytes() const noexcept;

 private:
  struct Partition;
  struct Group {
    Value id;
    GroupState state;
    int64_t revision = 0;
  };
  struct Session {
    TimeMs min = 0;
    TimeMs max = 0;
    bool fired = false;
    Partition* partition = nullptr;
    TimeMs cell = 0;
    std::unordered_map<std::string, Group> groups;  // by the JSON text of _id
  };
  using Sessions = std::map<TimeMs, Session>;  // by min; disjoint, so ordered by max too
  struct Partition {
    std::string key;  // JSON text of the partitionBy value
    std::map<TimeMs, Sessions> cells;  // by floor(t / maxDuration); one cell without it
    WindowClock clock;                 // watermark "perKey"
    bool dirty = false;                // changed since the last save (listed in dirty_)
  };

  WindowClock& clock_of(Partition& p) noexcept { return per_key_ ? p.clock : clock_; }
  TimeMs end_of(const Session& s) const noexcept { return s.max + options_.gap; }
  void index(Session& s) { if (!per_key_) open_by_end_.emplace(end_of(s), &s); }
  void unindex(Session& s) { if (!per_key_) open_by_end_.erase({end_of(s), &s}); }
  // Fires one session into batch_.
  void fire(Session& s);
  void fire_partition(Partition& p, TimeMs upto);
  void fire_pipeline(TimeMs upto);
  // Drops fired sessions no reading can reach any more.
  void prune(Partition& p, Sessions& cell, TimeMs watermark);
  void emit(StageContext& ctx, bool force);
  // The end of the partition's latest open session (kMinTime when none).
  TimeMs last_open_end(const Partition& p) const;
  // Checkpoints: the partition changed, or is about to be erased from partitions_.
  void mark(Partition& p);
  void forget(const Partition& p);
  Value stage_entry() const;
  bool load_stage(const Value& v);
  // A partition's entry: {"cells": [cell, [session, ...], ...], "clock" (watermark
  // "perKey")}; a session [min, max, fired, [_id, revision, state, ...]] with its groups in
  // the order of their _id's JSON text, states as GroupState::save.
  Value save_partition(const Partition& p) const;
  bool load_partition(const Value& v, Partition& p) const;

  const SessionWindowOptions options_;
  const GroupSpec group_;
  const std::shared_ptr<const Expression> partition_by_;
  const std::string pipeline_;
  const bool per_key_;
  const bool update_;
  const std::string config_;  // what the saved state depends on, hashed
  std::unordered_map<std::string, Partition> partitions_;
  std::set<std::pair<TimeMs, Session*>> open_by_end_;  // pipeline watermark: open sessions by end
  WindowClock clock_;
  size_t live_groups_ = 0;
  size_t open_sessions_ = 0;
  OutputQueue out_;
  std::vector<PendingOutput> batch_;
  std::string key_buffer_;
  std::string group_buffer_;
  TimeMs last_sweep_ = kMinTime;
  std::vector<std::string> dirty_;  // partitions changed or erased since the last save
  std::string entry_key_;
};

const ComponentInfo& session_window_info();
std::unique_ptr<Operator> make_session_window(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
