// $tumblingWindow: fixed, non-overlapping event-time windows with a $group inside.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/stage_factory.hpp"
#include "pipeline/window/group_spec.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

struct TumblingWindowOptions {
  TimeMs size = 0;
  TimeMs offset = 0;
  TimeMs allowed_lateness = 0;
  TimeMs idle_timeout = 0;  // 0: windows close on the watermark only
};

// The mutable state of a tumbling window: what a checkpoint saves.
struct TumblingWindowState {
  struct Group {
    Value id;
    GroupState accumulators;
  };
  using Groups = std::unordered_map<std::string, Group>;  // keyed by the JSON text of _id
  struct Window {
    Groups groups;
  };
  // A closed window whose results are being emitted, in _id order, as the sink accepts
  // them; each group is erased once emitted.
  struct Closing {
    TimeMs start = 0;
    Value meta;  // {"window": {"start": ..., "end": ...}}, formatted once per window
    Window window;
    std::vector<Groups::iterator> order;
    size_t next = 0;
  };
  std::map<TimeMs, Window> open;  // by window start
  std::deque<Closing> closing;    // oldest first
  size_t closing_groups = 0;      // groups in `closing` not emitted yet
  TimeMs max_event_time = kMinTime;
  TimeMs watermark = kMinTime;
  TimeMs closed_until = kMinTime;  // every window ending at or before this is closed
  TimeMs last_input = kMinTime;    // processing time of the last reading
};

class TumblingWindow final : public Operator {
 public:
  TumblingWindow(TumblingWindowOptions options, GroupSpec group, std::string pipeline);

  StageResult process(Record& record, StageContext& ctx) override;
  void on_tick(StageContext& ctx) override;
  void flush(StageContext& ctx) override;

  const TumblingWindowState& state() const noexcept { return state_; }
  TimeMs window_start(TimeMs t) const noexcept;

 private:
  void close_until(TimeMs bound, StageContext& ctx);
  // Emits the results of closed windows while the pipeline's output is not congested (all
  // of them when `force`, or when more than kMaxHeldGroups wait: then the output router's
  // own backlog limit applies).
  void emit_closed(StageContext& ctx, bool force);
  void emit_group(const TumblingWindowState::Closing& c, TumblingWindowState::Group& g,
                  StageContext& ctx);

  const TumblingWindowOptions options_;
  const GroupSpec group_;
  const std::string pipeline_;
  TumblingWindowState state_;
  std::string key_buffer_;
};

const ComponentInfo& tumbling_window_info();
std::unique_ptr<Operator> make_tumbling_window(const config::Node& spec,
                                               const StageBuildContext& ctx);

}  // namespace weir::pipeline
