#include "pipeline/window/tumbling_window.hpp"

#include <algorithm>
#include <string>

namespace weir::pipeline {

namespace {

// Results of closed windows held back while the output is congested: past this many
// groups they are emitted anyway and the output router's backlog limit (drop-oldest,
// counted) applies, so a sink that stays down cannot make closed windows pile up.
constexpr size_t kMaxHeldGroups = 100000;

constexpr OptionSpec kOptions[] = {
    {"interval", OptionType::kDuration, true, "", "window length, e.g. {\"size\": 10, \"unit\": \"second\"}"},
    {"offset", OptionType::kDuration, false, "0", "shift of the window grid from the epoch (e.g. local midnight)"},
    {"allowedLateness", OptionType::kDuration, false, "0", "how far the watermark trails the highest event time"},
    {"idleTimeout", OptionType::kDuration, false, "none", "close open windows when no input arrived for this long (processing time)"},
    {"pipeline", OptionType::kArray, true, "", "the window's stages: one $group"},
};
constexpr ComponentInfo kInfo{
    "$tumblingWindow",
    "fixed, non-overlapping event-time windows; each closed window emits one document per group",
    kOptions};

}  // namespace

const ComponentInfo& tumbling_window_info() { return kInfo; }

std::unique_ptr<Operator> make_tumbling_window(const config::Node& spec,
                                               const StageBuildContext& ctx) {
  spec.check_options(kInfo);
  TumblingWindowOptions o;
  o.size = spec.at("interval").as_duration();
  if (auto n = spec.get("offset")) {
    o.offset = n->as_duration(true);
    if (o.offset >= o.size) n->fail("an offset shorter than the interval");
  }
  if (auto n = spec.get("allowedLateness")) o.allowed_lateness = n->as_duration(true);
  if (auto n = spec.get("idleTimeout")) o.idle_timeout = n->as_duration();
  config::Node inner = spec.at("pipeline");
  inner.expect_array(true);
  if (inner.size() != 1) inner.fail("exactly one stage: [{\"$group\": {...}}]");
  config::Node stage = inner.at(size_t{0});
  std::string key = stage.single_operator_key("stage");
  if (key != "$group") stage.fail("a $group stage");
  return std::make_unique<TumblingWindow>(o, GroupSpec::compile(stage.at("$group")), ctx.pipeline);
}

TumblingWindow::TumblingWindow(TumblingWindowOptions options, GroupSpec group, std::string pipeline)
    : options_(options), group_(std::move(group)), pipeline_(std::move(pipeline)) {}

TimeMs TumblingWindow::window_start(TimeMs t) const noexcept {
  return floor_div(t - options_.offset, options_.size) * options_.size + options_.offset;
}

StageResult TumblingWindow::process(Record& record, StageContext& ctx) {
  const TimeMs t = record.event_time;
  const TimeMs start = window_start(t);
  const TimeMs end = start + options_.size;
  if (end <= state_.closed_until) {
    ctx.reject("late", "event time " + format_iso8601(t) + " falls in window [" +
                           format_iso8601(start) + ", " + format_iso8601(end) +
                           ") which closed at watermark " + format_iso8601(state_.closed_until));
    return StageResult::kDeadLetter;
  }
  Value scratch;
  const Value* id_ptr = nullptr;
  std::string missing;
  if (!group_.key(record.doc, scratch, id_ptr, missing)) {
    ctx.reject("missing_group", "the reading has no \"" + missing + "\", which $group's _id needs");
    return StageResult::kDeadLetter;
  }
  const Value& id = *id_ptr;
  state_.last_input = ctx.now();
  key_buffer_.clear();
  id.append_json(key_buffer_);
  auto& window = state_.open[start];
  auto it = window.groups.find(key_buffer_);
  if (it == window.groups.end()) {
    it = window.groups.emplace(key_buffer_, TumblingWindowState::Group{id, group_.new_state()}).first;
  }
  it->second.accumulators.add(record.doc, t);

  if (t > state_.max_event_time) {
    state_.max_event_time = t;
    TimeMs wm = t - options_.allowed_lateness;
    if (wm > state_.watermark) {
      state_.watermark = wm;
      close_until(wm, ctx);
    }
  }
  return StageResult::kConsumed;
}

void TumblingWindow::on_tick(StageContext& ctx) {
  if (!state_.closing.empty()) emit_closed(ctx, false);
  if (options_.idle_timeout <= 0 || state_.open.empty()) return;
  if (ctx.now() - state_.last_input >= options_.idle_timeout) {
    close_until(state_.open.rbegin()->first + options_.size, ctx);
    // Idle closing moves the watermark to the end of what it closed; never backwards.
    state_.watermark = std::max(state_.watermark, state_.closed_until);
  }
}

void TumblingWindow::flush(StageContext& ctx) {
  if (!state_.open.empty()) close_until(state_.open.rbegin()->first + options_.size, ctx);
  emit_closed(ctx, true);
}

void TumblingWindow::close_until(TimeMs bound, StageContext& ctx) {
  if (bound > state_.closed_until) state_.closed_until = bound;
  while (!state_.open.empty()) {
    auto it = state_.open.begin();
    if (it->first + options_.size > bound) break;
    auto& c = state_.closing.emplace_back();
    c.start = it->first;
    Value bounds = Value::object();
    bounds.reserve(2);
    bounds.set("start", Value(format_iso8601(c.start)));
    bounds.set("end", Value(format_iso8601(c.start + options_.size)));
    c.meta = Value::object();
    c.meta.set("window", std::move(bounds));
    c.window = std::move(it->second);
    state_.open.erase(it);
    // Groups in _id order, so the same input always gives the same output order.
    c.order.reserve(c.window.groups.size());
    for (auto g = c.window.groups.begin(); g != c.window.groups.end(); ++g) c.order.push_back(g);
    std::sort(c.order.begin(), c.order.end(),
              [](const auto& a, const auto& b) { return compare(a->second.id, b->second.id) < 0; });
    state_.closing_groups += c.order.size();
  }
  emit_closed(ctx, false);
}

void TumblingWindow::emit_closed(StageContext& ctx, bool force) {
  while (!state_.closing.empty()) {
    auto& c = state_.closing.front();
    while (c.next < c.order.size()) {
      if (!force && state_.closing_groups <= kMaxHeldGroups && ctx.congested()) return;
      auto it = c.order[c.next++];
      --state_.closing_groups;
      emit_group(c, it->second, ctx);
      c.window.groups.erase(it);
    }
    state_.closing.pop_front();
  }
}

void TumblingWindow::emit_group(const TumblingWindowState::Closing& c,
                                TumblingWindowState::Group& g, StageContext& ctx) {
  const auto& accs = group_.accumulators();
  Record out;
  out.doc = Value::object();
  out.doc.reserve(accs.size() + 2);
  out.doc.set("_id", std::move(g.id));
  for (size_t i = 0; i < accs.size(); ++i) {
    out.doc.set(accs[i].output(), g.accumulators.result(i));
  }
  out.doc.set("_stream_meta", c.meta);
  out.event_time = c.start + options_.size - 1;
  out.processing_time = ctx.now();
  ctx.forward(std::move(out));
}

}  // namespace weir::pipeline
