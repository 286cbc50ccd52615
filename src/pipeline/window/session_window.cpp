#include "pipeline/window/session_window.hpp"

#include <algorithm>

#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {

namespace {

constexpr TimeMs kPartitionExpiry = 60 * 60 * 1000;
constexpr TimeMs kSweepEvery = 10 * 1000;
constexpr std::string_view kPartitionPrefix = "p:";

constexpr OptionSpec kOptions[] = {
    {"gap", OptionType::kDuration, true, "", "a pause this long or longer ends a session"},
    {"partitionBy", OptionType::kExpression, true, "", "what a session belongs to, e.g. \"$device\""},
    {"maxDuration", OptionType::kDuration, false, "none",
     "longest session: sessions are cut at every multiple of it from the epoch"},
    WEIR_WINDOW_TIME_OPTIONS,
    {"pipeline", OptionType::kArray, true, "", "the window's stages: one $group"},
};
constexpr ComponentInfo kInfo{
    "$sessionWindow",
    "per partition, readings less than gap apart form a session; each fired session emits one "
    "document per group",
    kOptions};

}  // namespace

const ComponentInfo& session_window_info() { return kInfo; }

std::unique_ptr<Operator> make_session_window(const config::Node& spec, const StageBuildContext& ctx) {
  spec.check_options(kInfo);
  SessionWindowOptions o;
  o.gap = spec.at("gap").as_duration();
  if (auto n = spec.get("maxDuration")) {
    o.max_duration = n->as_duration();
  }
  o.time = parse_window_time(spec, o.gap);
  auto partition = compile_expression(spec.at("partitionBy"));
  return std::make_unique<SessionWindow>(o, parse_window_group(spec), std::move(partition), ctx.pipeline);
}

SessionWindow::SessionWindow(SessionWindowOptions options, GroupSpec group,
                             std::unique_ptr<Expression> partition_by, std::string pipeline)
    : options_(options), group_(std::move(group)), partition_by_(std::move(partition_by)),
      pipeline_(std::move(pipeline)), per_key_(options.time.watermark == WatermarkScope::kPerKey &&
               options.time.boundary == TimeBoundary::kEventTime),
      update_(options.time.late == LatePolicy::kUpdate),
      config_(hex16(fnv1a(kFnvOffset, std::string(kInfo.name) + " " + std::to_string(options.gap) +
                                          " " + std::to_string(options.max_duration) +
                                          (per_key_ ? " perKey" : " pipeline") +
                                          (update_ ? " update " : " dlq ") + group_.signature()))),
      out_(group_, update_, pipeline_) {}

StageResult SessionWindow::process(Record& record, StageContext& ctx) {
  const TimeMs now = ctx.now();
  const TimeMs gap = options_.gap;
  const bool processing = options_.time.boundary == TimeBoundary::kProcessingTime;
  TimeMs t = record.event_time;
  if (processing) {
    t = now;
    if (!per_key_) {
      clock_.raise(now);
      fire_pipeline(now);
      // Queued now: the reading may yet be rejected, and nothing waits outside the queue
      // between calls (a checkpoint saves the queue).
      if (!batch_.empty()) out_.add_batch(batch_);
    }
  } else if (too_far_ahead(t, now, options_.time, ctx)) {
    return StageResult::kDeadLetter;
  }
  Value scratch;
  const Value& pv = partition_by_->eval(record.doc, scratch);
  if (is_missing(pv)) {
    ctx.reject("missing_partition", "the reading has no value for $sessionWindow's partitionBy");
    return StageResult::kDeadLetter;
  }
  key_buffer_.clear();
  pv.append_json(key_buffer_);
  Value id_scratch;
  const Value* id = group_id(group_, record.doc, id_scratch, group_buffer_, ctx);
  if (id == nullptr) return StageResult::kDeadLetter;

  auto pit = partitions_.find(key_buffer_);
  Partition* part = pit == partitions_.end() ? nullptr : &pit->second;
  const TimeMs W = part != nullptr ? clock_of(*part).watermark : (per_key_ ? kMinTime : clock_.watermark);
  const TimeMs cell_id = options_.max_duration > 0 ? floor_div(t, options_.max_duration) : 0;
  Sessions* cell = nullptr;
  if (part != nullptr) {
    auto c = part->cells.find(cell_id);
    if (c != part->cells.end()) {
      // Forget fired sessions first: an open session may later grow over a forgotten one's
      // bounds, and the sessions of a cell must stay disjoint.
      prune(*part, c->second, W);
      cell = &c->second;
    }
  }
  // The sessions the reading is within gap of: a run of the ordered sessions.
  std::vector<Sessions::iterator> near;
  if (cell != nullptr) {
    auto it = cell->lower_bound(t + gap);  // first session with min >= t + gap: not near
    while (it != cell->begin()) {
      --it;
      if (it->second.max + gap <= t) break;
      near.push_back(it);
    }
    std::reverse(near.begin(), near.end());
  }
  auto late = [&](const std::string& why) {
    ctx.reject("late", "event time " + format_iso8601(t) + " " + why + " (watermark " + format_iso8601(W) + ")");
    return StageResult::kDeadLetter;
  };
  for (auto it : near) {
    Session& f = it->second;
    if (!f.fired) continue;
    // Within gap of a session that fired: only an update inside its bounds is taken.
    if (!update_ || t < f.min || t > f.max || W >= end_of(f) + options_.time.update_for) {
      return late("is within gap of the session [" + format_iso8601(f.min) + ", " +
                  format_iso8601(end_of(f)) + ") which already fired");
    }
    auto g = f.groups.find(group_buffer_);
    if (g == f.groups.end()) {
      if (live_groups_ >= options_.time.max_groups) {
        ctx.reject("maxGroups", "the window already holds maxGroups (" +
                                    std::to_string(options_.time.max_groups) + ") groups");
        return StageResult::kDeadLetter;
      }
      g = f.groups.emplace(group_buffer_, Group{*id, group_.new_state(), -1}).first;
      ++live_groups_;
    }
    g->second.state.add(record.doc, t);
    ++g->second.revision;
    PendingOutput p;
    p.start = f.min;
    p.end = end_of(f);
    p.revision = g->second.revision;
    p.id = g->second.id;
    p.partition = key_buffer_;
    p.state = g->second.state.clone();
    batch_.push_back(std::move(p));
    clock_of(*part).accept(t, now, options_.time.allowed_lateness);
    mark(*part);
    emit(ctx, false);
    return StageResult::kConsumed;
  }
  if (near.empty() && t + gap <= W) {
    return late("starts a session that would end at " + format_iso8601(t + gap));
  }
  bool new_group = true;
  for (auto it : near) new_group = new_group && it->second.groups.find(group_buffer_) == it->second.groups.end();
  if (new_group && live_groups_ >= options_.time.max_groups) {
    ctx.reject("maxGroups", "the window already holds maxGroups (" +
                                std::to_string(options_.time.max_groups) + ") groups");
    return StageResult::kDeadLetter;
  }

  // Accepted.
  if (part == nullptr) {
    part = &partitions_[key_buffer_];
    part->key = key_buffer_;
  }
  if (cell == nullptr) cell = &part->cells[cell_id];
  Session* s = nullptr;
  if (near.empty()) {
    s = &(*cell)[t];
    s->min = s->max = t;
    s->partition = part;
    s->cell = cell_id;
    ++open_sessions_;
  } else {
    s = &near.front()->second;
    unindex(*s);
    for (size_t i = 1; i < near.size(); ++i) {
      Session& o = near[i]->second;
      unindex(o);
      for (auto& [key, g] : o.groups) {
        auto d = s->groups.find(key);
        if (d == s->groups.end()) {
          s->groups.emplace(key, std::move(g));
        } else {
          d->second.state.merge(g.state);
          --live_groups_;
        }
      }
      s->max = std::max(s->max, o.max);
      cell->erase(near[i]);
      --open_sessions_;
    }
    if (t < s->min) {
      auto node = cell->extract(near.front());
      node.key() = t;
      node.mapped().min = t;
      cell->insert(std::move(node));  // the node, and so s, stays where it is
    }
    s->max = std::max(s->max, t);
  }
  auto g = s->groups.find(group_buffer_);
  if (g == s->groups.end()) {
    g = s->groups.emplace(group_buffer_, Group{*id, group_.new_state(), 0}).first;
    ++live_groups_;
  }
  g->second.state.add(record.doc, t);
  index(*s);
  mark(*part);

  WindowClock& clock = clock_of(*part);
  bool moved = clock.accept(t, now, processing ? 0 : options_.time.allowed_lateness);
  if (processing) clock.raise(now);
  if (per_key_) {
    if (moved) fire_partition(*part, clock.watermark);
  } else if (moved || processing) {
    fire_pipeline(clock.watermark);
  }
  emit(ctx, false);
  return StageResult::kConsumed;
}

void SessionWindow::fire(Session& s) {
  s.fired = true;
  --open_sessions_;
  mark(*s.partition);
  for (auto& [key, g] : s.groups) {
    PendingOutput p;
    p.start = s.min;
    p.end = end_of(s);
    p.revision = g.revision;
    p.id = update_ ? g.id : std::move(g.id);
    p.partition = s.partition->key;
    p.state = update_ ? g.state.clone() : std::move(g.state);
    batch_.push_back(std::move(p));
  }
  if (!update_) {
    live_groups_ -= s.groups.size();
    s.groups.clear();  // only the bounds stay, to recognise late readings
  }
}

void SessionWindow::fire_partition(Partition& p, TimeMs upto) {
  for (auto& [cell_id, cell] : p.cells) {
    for (auto& [min, s] : cell) {
      if (!s.fired && end_of(s) <= upto) fire(s);
    }
  }
  for (auto c = p.cells.begin(); c != p.cells.end();) {
    prune(p, c->second, upto);
    if (c->second.empty()) {
      mark(p);
      c = p.cells.erase(c);
    } else {
      ++c;
    }
  }
}

void SessionWindow::fire_pipeline(TimeMs upto) {
  while (!open_by_end_.empty() && open_by_end_.begin()->first <= upto) {
    Session* s = open_by_end_.begin()->second;
    open_by_end_.erase(open_by_end_.begin());
    fire(*s);
    Partition& p = *s->partition;
    auto c = p.cells.find(s->cell);
    prune(p, c->second, upto);
    if (c->second.empty()) p.cells.erase(c);  // (fire() marked the partition)
    if (p.cells.empty()) {
      forget(p);
      std::string key = p.key;  // not a reference into the element being erased
      partitions_.erase(key);
    }
  }
}

void SessionWindow::prune(Partition& p, Sessions& cell, TimeMs watermark) {
  // A fired session is remembered (rule 1: readings within gap of it are late, or updates)
  // until the watermark is `gap` past its end (late "update": max(gap, updateFor)); after
  // that it is forgotten, and a reading near it is late unless it joins an open session.
  const TimeMs gap = options_.gap;
  const TimeMs keep = update_ ? std::max(gap, options_.time.update_for) : gap;
  for (auto it = cell.begin(); it != cell.end();) {
    Session& s = it->second;
    if (s.fired && watermark >= end_of(s) + keep) {
      live_groups_ -= s.groups.size();
      it = cell.erase(it);
      mark(p);
    } else {
      ++it;
    }
  }
}

TimeMs SessionWindow::last_open_end(const Partition& p) const {
  TimeMs end = kMinTime;
  for (const auto& [cell_id, cell] : p.cells) {
    for (const auto& [min, s] : cell) {
      if (!s.fired) end = std::max(end, end_of(s));
    }
  }
  return end;
}

void SessionWindow::emit(StageContext& ctx, bool force) {
  if (!batch_.empty()) out_.add_batch(batch_);
  out_.emit(ctx, force);
}

void SessionWindow::on_tick(StageContext& ctx) {
  const TimeMs now = ctx.now();
  const bool processing = options_.time.boundary == TimeBoundary::kProcessingTime;
  const TimeMs idle = options_.time.idle_timeout;
  const bool sweep = now - last_sweep_ >= kSweepEvery;
  if (sweep) last_sweep_ = now;
  if (!per_key_) {
    if (processing) clock_.raise(now);
    if (idle > 0 && !open_by_end_.empty() && now - clock_.last_input >= idle) {
      clock_.raise(open_by_end_.rbegin()->first);
    }
    fire_pipeline(clock_.watermark);
  }
  if (per_key_ || sweep) {
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      Partition& p = it->second;
      if (per_key_) {
        if (idle > 0 && now - p.clock.last_input >= idle) {
          const TimeMs before = p.clock.watermark;
          p.clock.raise(last_open_end(p));
          if (p.clock.watermark != before) mark(p);
        }
        fire_partition(p, p.clock.watermark);
      } else {
        for (auto c = p.cells.begin(); c != p.cells.end();) {
          prune(p, c->second, clock_.watermark);
          if (c->second.empty()) {
            mark(p);
            c = p.cells.erase(c);
          } else {
            ++c;
          }
        }
      }
      bool expired = !per_key_ || now - p.clock.last_input >= std::max(kPartitionExpiry, idle);
      if (sweep && p.cells.empty() && expired) {
        forget(p);
        it = partitions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  emit(ctx, false);
}

void SessionWindow::flush(StageContext& ctx) {
  if (!per_key_) {
    if (!open_by_end_.empty()) clock_.raise(open_by_end_.rbegin()->first);
    fire_pipeline(clock_.watermark);
  } else {
    for (auto& [key, p] : partitions_) {
      const TimeMs before = p.clock.watermark;
      p.clock.raise(last_open_end(p));
      if (p.clock.watermark != before) mark(p);
      fire_partition(p, p.clock.watermark);
    }
  }
  emit(ctx, true);
}

size_t SessionWindow::memory_bytes() const noexcept {
  size_t n = out_.memory_bytes();
  for (const auto& [key, p] : partitions_) {
    n += sizeof(Partition) + key.capacity() + p.key.capacity() + 64;
    for (const auto& [cell_id, cell] : p.cells) {
      n += 64;
      for (const auto& [min, s] : cell) {
        n += sizeof(Session) + 48;
        for (const auto& [gk, g] : s.groups) {
          n += sizeof(Group) + gk.capacity() + 48;
          if (g.state.valid()) n += g.state.memory_bytes();
        }
      }
    }
  }
  return n;
}

// ---- checkpoints ------------------------------------------------------------------------

void SessionWindow::mark(Partition& p) {
  if (p.dirty) return;
  p.dirty = true;
  dirty_.push_back(p.key);
}

void SessionWindow::forget(const Partition& p) {
  if (!p.dirty) dirty_.push_back(p.key);  // a dirty partition is listed already
}

TimeMs SessionWindow::watermark() const {
  if (!per_key_) return clock_.watermark;
  TimeMs w = partitions_.empty() ? kMinTime : kMaxTime;
  for (const auto& [key, p] : partitions_) w = std::min(w, p.clock.watermark);
  return w;
}

Value SessionWindow::stage_entry() const {
  const TimeMs watermark = this->watermark();
  Value v = Value::object();
  v.reserve(7);
  v.set("kind", Value(kInfo.name));
  v.set("config", Value(config_));
  v.set("groups", Value(static_cast<int64_t>(live_groups_)));
  v.set("openWindows", Value(static_cast<int64_t>(open_sessions_)));
  v.set("watermark", watermark == kMinTime ? Value() : Value(watermark));
  v.set("clock", save_clock(clock_));
  v.set("lastSweep", Value(last_sweep_));
  return v;
}

bool SessionWindow::load_stage(const Value& v) {
  auto text_is = [&](std::string_view name, std::string_view want) {
    const Value* x = v.find(name);
    return x != nullptr && x->is_string() && x->as_string() == want;
  };
  WindowClock clock;
  TimeMs last_sweep = 0;
  const Value* c = v.find("clock");
  const Value* sweep = v.find("lastSweep");
  if (!text_is("kind", kInfo.name) || !text_is("config", config_) || c == nullptr ||
      !load_clock(*c, clock) || sweep == nullptr || !load_time(*sweep, last_sweep)) {
    return false;
  }
  clock_ = clock;
  last_sweep_ = last_sweep;
  return true;
}

Value SessionWindow::save_partition(const Partition& p) const {
  std::vector<const std::pair<const std::string, Group>*> order;
  Value cells = Value::array();
  cells.reserve(2 * p.cells.size());
  for (const auto& [cell_id, cell] : p.cells) {
    Value sessions = Value::array();
    sessions.reserve(cell.size());
    for (const auto& [min, s] : cell) {
      order.clear();
      for (const auto& g : s.groups) order.push_back(&g);
      std::sort(order.begin(), order.end(),
                [](const auto* a, const auto* b) { return a->first < b->first; });
      Value groups = Value::array();
      groups.reserve(3 * order.size());
      for (const auto* g : order) {
        groups.push_back(save_value(g->second.id));
        groups.push_back(Value(g->second.revision));
        groups.push_back(g->second.state.save());
      }
      Value session = Value::array();
      session.reserve(4);
      session.push_back(Value(s.min));
      session.push_back(Value(s.max));
      session.push_back(Value(s.fired));
      session.push_back(std::move(groups));
      sessions.push_back(std::move(session));
    }
    cells.push_back(Value(cell_id));
    cells.push_back(std::move(sessions));
  }
  Value v = Value::object();
  v.set("cells", std::move(cells));
  if (per_key_) v.set("clock", save_clock(p.clock));
  return v;
}

bool SessionWindow::load_partition(const Value& v, Partition& p) const {
  const Value* cells = v.find("cells");
  if (cells == nullptr || !cells->is_array() || cells->size() % 2 != 0) return false;
  if (per_key_) {
    const Value* clock = v.find("clock");
    if (clock == nullptr || !load_clock(*clock, p.clock)) return false;
  }
  const TimeMs md = options_.max_duration;
  std::string key;
  for (size_t c = 0; c < cells->size(); c += 2) {
    int64_t cell_id = 0;
    const Value& sessions = cells->at(c + 1);
    if (!cells->at(c).is_int() || !sessions.is_array()) return false;
    cell_id = cells->at(c).as_int();
    if ((md == 0 && cell_id != 0) || !p.cells.emplace(cell_id, Sessions()).second) return false;
    Sessions& cell = p.cells[cell_id];
    for (size_t i = 0; i < sessions.size(); ++i) {
      const Value& sv = sessions.at(i);
      if (!sv.is_array() || sv.size() != 4 || !sv.at(2).is_bool() || !sv.at(3).is_array() ||
          sv.at(3).size() % 3 != 0) {
        return false;
      }
      TimeMs min = 0, max = 0;
      // Disjoint and in order, within the cell (merging relies on it).
      if (!load_time(sv.at(0), min) || !load_time(sv.at(1), max) || min > max ||
          (!cell.empty() && std::prev(cell.end())->second.max >= min) ||
          (md > 0 && (floor_div(min, md) != cell_id || floor_div(max, md) != cell_id))) {
        return false;
      }
      Session& s = cell[min];
      s.min = min;
      s.max = max;
      s.fired = sv.at(2).as_bool();
      s.partition = &p;
      s.cell = cell_id;
      const Value& groups = sv.at(3);
      for (size_t g = 0; g < groups.size(); g += 3) {
        Group group;
        group.state = group_.new_state();
        if (!load_value(groups.at(g), group.id) ||
            !load_int(groups.at(g + 1), 0, INT64_C(1) << 62, group.revision) ||
            !group.state.load(groups.at(g + 2))) {
          return false;
        }
        key.clear();
        group.id.append_json(key);
        if (!s.groups.emplace(key, std::move(group)).second) return false;
      }
    }
  }
  return true;
}

void SessionWindow::save(StateWriter& out, SaveMode mode) {
  if (!batch_.empty()) out_.add_batch(batch_);  // (empty between calls)
  out.put(kStageKey, stage_entry());
  save_entries(out, mode, partitions_, dirty_, kPartitionPrefix, entry_key_,
               [&](const Partition& p) { return save_partition(p); });
  out_.save(out, mode);
}

void SessionWindow::load(StateReader& in) {
  bool ours = false;  // the stage entry (first in key order) is this stage's, of this config
  in.for_each([&](std::string_view key, const Value& v) {
    if (key == kStageKey) {
      ours = load_stage(v);
      return;
    }
    if (!ours) return;  // another stage's rows or another config's: start fresh
    if (key.starts_with(OutputQueue::kEntryPrefix)) {
      out_.load(key, v);
      return;
    }
    if (!key.starts_with(kPartitionPrefix)) return;
    std::string text(key.substr(kPartitionPrefix.size()));
    auto [it, inserted] = partitions_.try_emplace(text);
    if (!inserted) return;
    it->second.key = std::move(text);
    // In place: sessions point to their partition. One that does not fit starts fresh.
    if (!load_partition(v, it->second)) partitions_.erase(it);
  });
  // What is derived: the open sessions by end, the counts.
  for (auto& [key, p] : partitions_) {
    for (auto& [cell_id, cell] : p.cells) {
      for (auto& [min, s] : cell) {
        live_groups_ += s.groups.size();
        if (s.fired) continue;
        ++open_sessions_;
        index(s);
      }
    }
  }
}

}  // namespace weir::pipeline
