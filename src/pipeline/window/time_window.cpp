#include "pipeline/window/time_window.hpp"

#include <algorithm>
#include <numeric>

#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {

namespace {

// Keys of a "perKey" watermark that hold no window any more are forgotten after this much
// processing time without a reading (or the idle timeout, when longer).
constexpr TimeMs kKeyExpiry = 60 * 60 * 1000;
constexpr TimeMs kSweepEvery = 10 * 1000;
constexpr std::string_view kKeyPrefix = "k:";

// What a saved state depends on: the grid, the watermark's scope, the late policy (which
// decides what the front-stack panes hold) and the accumulators.
std::string config_hash(const TimeWindowOptions& o, bool per_key, bool update,
                        const GroupSpec& group) {
  std::string s = std::string(o.kind) + " " + std::to_string(o.interval) + " " +
                  std::to_string(o.hop) + " " + std::to_string(o.offset) +
                  (per_key ? " perKey" : " pipeline") + (update ? " update" : " dlq") + " " +
                  group.signature();
  return hex16(fnv1a(kFnvOffset, s));
}

// [start, state, start, state, ...]
template <typename It>
Value save_states(It first, It last) {
  Value v = Value::array();
  for (; first != last; ++first) {
    v.push_back(Value(first->first));
    v.push_back(first->second.save());
  }
  return v;
}

}  // namespace

TimeWindow::TimeWindow(TimeWindowOptions options, GroupSpec group, std::string pipeline)
    : options_(options), group_(std::move(group)), pipeline_(std::move(pipeline)),
      pane_(std::gcd(options.interval, options.hop)),
      per_key_(options.time.watermark == WatermarkScope::kPerKey &&
               options.time.boundary == TimeBoundary::kEventTime),
      update_(options.time.late == LatePolicy::kUpdate),
      config_(config_hash(options_, per_key_, update_, group_)),
      out_(group_, update_, pipeline_) {}

TimeWindow::PaneList::iterator TimeWindow::find_pane(Key& k, TimeMs start) {
  return std::lower_bound(k.panes.begin(), k.panes.end(), start,
                          [](const Pane& p, TimeMs s) { return p.start < s; });
}

void TimeWindow::PaneList::erase(iterator it) {
  if (it != begin()) {
    v_.erase(it);
    return;
  }
  *it = Pane();  // frees its states now
  ++head_;
  if (head_ == v_.size()) {
    v_.clear();
    head_ = 0;
  } else if (head_ >= 16 && head_ * 2 >= v_.size()) {
    v_.erase(v_.begin(), begin());
    head_ = 0;
  }
}

TimeMs TimeWindow::next_window(const Key& k, TimeMs after) const {
  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  // The first window start s with s + I > after.
  const TimeMs s_min = grid_floor(after - I, H, O) + H;
  auto it = std::lower_bound(k.panes.begin(), k.panes.end(), s_min,
                             [](const Pane& p, TimeMs s) { return p.start < s; });
  if (it == k.panes.end()) return kMaxTime;
  return std::max(s_min, grid_floor(it->start - I, H, O) + H);
}

StageResult TimeWindow::process(Record& record, StageContext& ctx) {
  const TimeMs now = ctx.now();
  const bool processing = options_.time.boundary == TimeBoundary::kProcessingTime;
  TimeMs t = record.event_time;
  if (processing) {
    t = now;
    if (!per_key_) {
      clock_.raise(now);
      sync_pipeline();
    }
  } else if (too_far_ahead(t, now, options_.time, ctx)) {
    return StageResult::kDeadLetter;
  }
  Value scratch;
  const Value* id = group_id(group_, record.doc, scratch, key_buffer_, ctx);
  if (id == nullptr) return StageResult::kDeadLetter;
  auto kit = keys_.find(key_buffer_);
  Key* k = kit == keys_.end() ? nullptr : &kit->second;

  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  const TimeMs W = k != nullptr ? clock_of(*k).watermark : (per_key_ ? kMinTime : clock_.watermark);
  const TimeMs s_hi = grid_floor(t, H, O);       // the latest window holding t
  const TimeMs s_lo = grid_floor(t - I, H, O) + H;  // the earliest
  const bool open = s_hi + I > W;
  const bool retained = update_ && s_hi + I + options_.time.update_for > W;
  if (!open && !retained) {
    ctx.reject("late", "event time " + format_iso8601(t) + " falls in window [" + format_iso8601(s_hi) +
                           ", " + format_iso8601(s_hi + I) + ") which fired at watermark " +
                           format_iso8601(W));
    return StageResult::kDeadLetter;
  }
  const TimeMs ps = grid_floor(t, pane_, O);
  if (k == nullptr || k->panes.empty()) {
    if (!tumbling() && live_keys_ >= options_.time.max_groups) {
      ctx.reject("maxGroups", "the window already holds maxGroups (" +
                                  std::to_string(options_.time.max_groups) + ") groups");
      return StageResult::kDeadLetter;
    }
  }
  if (tumbling()) {
    bool exists = false;
    if (k != nullptr) {
      auto p = find_pane(*k, ps);
      exists = p != k->panes.end() && p->start == ps;
    }
    if (!exists) {
      auto g = window_groups_.find(ps);
      if (g != window_groups_.end() && g->second >= options_.time.max_groups) {
        ctx.reject("maxGroups", "the window [" + format_iso8601(ps) + ", " + format_iso8601(ps + I) +
                                    ") already holds maxGroups (" +
                                    std::to_string(options_.time.max_groups) + ") groups");
        return StageResult::kDeadLetter;
      }
    }
  }
  if (k == nullptr) {
    Key fresh;
    fresh.id = *id;
    fresh.fired_end = per_key_ ? kMinTime : clock_.watermark;
    if (per_key_) fresh.clock = std::make_unique<WindowClock>();
    k = &keys_.emplace(key_buffer_, std::move(fresh)).first->second;
  }
  add(*k, ps, record, t);
  mark(key_buffer_, *k);

  // Fired windows still kept for updates ("update"): re-emitted with the reading in them.
  if (update_ && s_lo + I <= W) {
    for (TimeMs s = s_lo; s <= s_hi && s + I <= W; s += H) {
      if (s + I + options_.time.update_for > W) reemit(*k, s);
    }
  }
  WindowClock& clock = clock_of(*k);
  bool moved = clock.accept(t, now, processing ? 0 : options_.time.allowed_lateness);
  if (processing) clock.raise(now);
  if (per_key_) {
    if (moved) fire_key(*k, clock.watermark);
  } else {
    if (open) next_end_ = std::min(next_end_, std::max(s_lo, grid_floor(W - I, H, O) + H) + I);
    sync_pipeline();
  }
  after_fire(ctx);
  return StageResult::kConsumed;
}

void TimeWindow::add(Key& k, TimeMs ps, const Record& r, TimeMs t) {
  auto it = find_pane(k, ps);
  const bool created = it == k.panes.end() || it->start != ps;
  if (created) {
    if (k.panes.empty()) ++live_keys_;
    ++window_groups_[ps];
    it = k.panes.insert(it, Pane{ps, group_.new_state()});
  }
  it->raw.add(r.doc, t);
  if (!k.sliding) return;
  Sliding& w = *k.sliding;
  if (ps >= w.ws && ps < w.fe) {
    // In the front stack: every suffix aggregate from the front up to this pane holds it.
    auto next = std::next(it);
    const bool next_in_front = next != k.panes.end() && next->start < w.fe;
    if (update_) {
      if (created) w.front[ps] = next_in_front ? w.front[next->start].clone() : group_.new_state();
      for (auto f = w.front.lower_bound(w.ws); f != w.front.end() && f->first <= ps; ++f) {
        f->second.add(r.doc, t);
      }
    } else {
      // Without late updates a front pane's own state is its suffix aggregate.
      if (created && next_in_front) it->raw.merge(next->raw);
      for (auto p = find_pane(k, w.ws); p != it; ++p) p->raw.add(r.doc, t);
    }
  } else if (ps >= w.fe && ps < w.we) {
    w.back.add(r.doc, t);
  }
}

GroupState TimeWindow::slide(Key& k, TimeMs s, TimeMs e) {
  if (!k.sliding) {
    k.sliding = std::make_unique<Sliding>();
    k.sliding->ws = k.sliding->fe = k.sliding->we = s;
    k.sliding->back = group_.new_state();
  }
  Sliding& w = *k.sliding;
  if (s > w.ws) {
    // Panes before s leave: the front stack's first, or everything after a flip. Without
    // late updates their states are dropped by prune(); with them the raw pane stays.
    if (update_) w.front.erase(w.front.begin(), w.front.lower_bound(std::min(s, w.fe)));
    if (s > w.fe) {
      // Flip: the back panes still in the window become the front stack, each holding the
      // merge of itself and the later ones (in place when no late update needs the pane).
      auto first = find_pane(k, s);
      auto last = s < w.we ? find_pane(k, w.we) : first;  // the window may have moved past them all
      const GroupState* later = nullptr;
      for (auto p = last; p != first;) {
        --p;
        GroupState& f = front_state(w, *p);
        if (update_) f = p->raw.clone();
        if (later != nullptr) f.merge(*later);
        later = &f;
      }
      w.fe = std::max(w.we, s);
      w.we = w.fe;
      w.back = group_.new_state();
    }
    w.ws = s;
  }
  if (e > w.we) {
    for (auto p = find_pane(k, w.we); p != k.panes.end() && p->start < e; ++p) w.back.merge(p->raw);
    w.we = e;
  }
  auto first = find_pane(k, w.ws);
  if (first != k.panes.end() && first->start < w.fe) {
    GroupState result = front_state(w, *first).clone();
    result.merge(w.back);
    return result;
  }
  return w.back.clone();
}

bool TimeWindow::fire_key(Key& k, TimeMs upto) {
  const TimeMs I = options_.interval;
  const size_t fired_before = batch_.size();
  const TimeMs end_before = k.fired_end;
  for (;;) {
    TimeMs s = next_window(k, k.fired_end);
    if (s == kMaxTime || s + I > upto) break;
    PendingOutput p;
    p.start = s;
    p.end = s + I;
    p.id = k.id;
    if (tumbling()) {
      auto pane = find_pane(k, s);
      if (update_) {
        p.state = pane->raw.clone();
      } else {
        p.state = std::move(pane->raw);
        erase_pane(k, pane);
      }
    } else {
      p.state = slide(k, s, s + I);
    }
    if (update_) {
      if (!k.revisions) k.revisions = std::make_unique<Revisions>();
      (*k.revisions)[s] = 0;
    }
    batch_.push_back(std::move(p));
    k.fired_end = s + I;
  }
  k.fired_end = std::max(k.fired_end, upto);
  const bool pruned = prune(k, upto);
  // Under a pipeline watermark fired_end is not saved (firedUpto stands for it).
  return pruned || batch_.size() != fired_before || (per_key_ && k.fired_end != end_before);
}

void TimeWindow::reemit(Key& k, TimeMs s) {
  const TimeMs e = s + options_.interval;
  PendingOutput p;
  p.start = s;
  p.end = e;
  p.id = k.id;
  p.state = group_.new_state();
  for (auto it = find_pane(k, s); it != k.panes.end() && it->start < e; ++it) p.state.merge(it->raw);
  if (!k.revisions) k.revisions = std::make_unique<Revisions>();
  auto [r, inserted] = k.revisions->emplace(s, 0);
  if (!inserted) ++r->second;
  p.revision = r->second;
  batch_.push_back(std::move(p));
}

void TimeWindow::erase_pane(Key& k, PaneList::iterator it) {
  auto g = window_groups_.find(it->start);
  if (g != window_groups_.end() && --g->second == 0) window_groups_.erase(g);
  k.panes.erase(it);
  if (k.panes.empty()) --live_keys_;
}

bool TimeWindow::prune(Key& k, TimeMs watermark) {
  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  // A pane is needed while a window holding it has not fired, or (update) is still kept.
  const TimeMs keep_for = update_ ? options_.time.update_for : 0;
  bool changed = false;
  while (!k.panes.empty()) {
    const Pane& p = k.panes.front();
    // Erasing a pane of the sliding aggregation is safe here: no window to come holds it.
    if (grid_floor(p.start, H, O) + I + keep_for > watermark) break;
    erase_pane(k, k.panes.begin());
    changed = true;
  }
  if (k.sliding && k.panes.empty()) k.sliding.reset();
  if (k.revisions) {
    while (!k.revisions->empty() && k.revisions->begin()->first + I + keep_for <= watermark) {
      k.revisions->erase(k.revisions->begin());
      changed = true;
    }
    if (k.revisions->empty()) k.revisions.reset();
  }
  return changed;
}

void TimeWindow::fire_all() {
  const TimeMs W = clock_.watermark;
  const TimeMs I = options_.interval;
  next_end_ = kMaxTime;
  batch_.reserve(keys_.size());  // at most one window per key, mostly: no doubling copies
  for (auto it = keys_.begin(); it != keys_.end();) {
    Key& k = it->second;
    k.fired_end = std::max(k.fired_end, fired_upto_);  // windows that ended with no data here
    if (fire_key(k, W)) mark(it->first, k);
    if (k.panes.empty() && !k.revisions) {
      forget(it->first, k);
      it = keys_.erase(it);
      continue;
    }
    TimeMs s = next_window(k, k.fired_end);
    if (s != kMaxTime) next_end_ = std::min(next_end_, s + I);
    ++it;
  }
  fired_upto_ = W;
  out_.add_batch(batch_);
}

void TimeWindow::advance_to(TimeMs watermark, StageContext& ctx, bool force) {
  // One window end at a time: a 1-hour window sliding every second has 3,600 windows to
  // fire per group at the end of the input, which should not wait all at once.
  while (next_end_ <= watermark) {
    clock_.raise(next_end_);
    fire_all();
    out_.emit(ctx, force);
  }
  clock_.raise(watermark);
  sync_pipeline();
}

void TimeWindow::sync_pipeline() {
  if (clock_.watermark >= next_end_) {
    fire_all();
  } else {
    // No window holding data ends between the last pass and the watermark: every key is
    // up to date without visiting it.
    fired_upto_ = std::max(fired_upto_, clock_.watermark);
  }
}

void TimeWindow::after_fire(StageContext& ctx) {
  if (!batch_.empty()) out_.add_batch(batch_);
  out_.emit(ctx, false);
}

void TimeWindow::on_tick(StageContext& ctx) {
  const TimeMs now = ctx.now();
  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  const bool processing = options_.time.boundary == TimeBoundary::kProcessingTime;
  const TimeMs idle = options_.time.idle_timeout;
  if (!per_key_) {
    if (processing) clock_.raise(now);
    if (idle > 0 && next_end_ != kMaxTime && now - clock_.last_input >= idle) {
      advance_to(grid_floor(clock_.max_event_time, H, O) + I, ctx, false);
    }
    sync_pipeline();
  } else {
    const bool sweep = now - last_sweep_ >= kSweepEvery;
    if (sweep) last_sweep_ = now;
    for (auto it = keys_.begin(); it != keys_.end();) {
      Key& k = it->second;
      if (idle > 0 && !k.panes.empty() && now - k.clock->last_input >= idle) {
        const TimeMs before = k.clock->watermark;
        k.clock->raise(grid_floor(k.clock->max_event_time, H, O) + I);
        if (fire_key(k, k.clock->watermark) || k.clock->watermark != before) mark(it->first, k);
      }
      if (sweep && k.panes.empty() && !k.revisions &&
          now - k.clock->last_input >= std::max(kKeyExpiry, idle)) {
        forget(it->first, k);
        it = keys_.erase(it);
        continue;
      }
      ++it;
    }
  }
  after_fire(ctx);
}

void TimeWindow::flush(StageContext& ctx) {
  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  if (!per_key_) {
    if (next_end_ != kMaxTime) advance_to(grid_floor(clock_.max_event_time, H, O) + I, ctx, true);
  } else {
    for (auto& [key, k] : keys_) {
      if (k.panes.empty()) continue;
      const TimeMs before = k.clock->watermark;
      k.clock->raise(grid_floor(k.clock->max_event_time, H, O) + I);
      // One batch: everything fires at once, in order of end.
      if (fire_key(k, k.clock->watermark) || k.clock->watermark != before) mark(key, k);
    }
  }
  if (!batch_.empty()) out_.add_batch(batch_);
  out_.emit(ctx, true);
}

size_t TimeWindow::groups() const noexcept {
  if (!tumbling()) return live_keys_;
  size_t n = 0;
  for (const auto& [start, count] : window_groups_) n += count;
  return n;
}

size_t TimeWindow::memory_bytes() const noexcept {
  size_t n = out_.memory_bytes();
  for (const auto& [key, k] : keys_) {
    n += sizeof(Key) + key.capacity() + 64;  // the node, its key text and the bucket
    for (const auto& p : k.panes) {
      n += sizeof(Pane);
      if (p.raw.valid()) n += p.raw.memory_bytes();
    }
    if (k.sliding && k.sliding->back.valid()) n += k.sliding->back.memory_bytes();
    if (k.sliding) {
      for (const auto& [start, f] : k.sliding->front) n += 48 + f.memory_bytes();
    }
    if (k.revisions) n += sizeof(Revisions) + k.revisions->size() * 48;
    if (k.sliding) n += sizeof(Sliding);
  }
  return n;
}

// ---- checkpoints ------------------------------------------------------------------------

void TimeWindow::mark(const std::string& key, Key& k) {
  if (k.dirty) return;
  k.dirty = true;
  dirty_.push_back(key);
}

void TimeWindow::forget(const std::string& key, const Key& k) {
  if (!k.dirty) dirty_.push_back(key);  // a dirty key is listed already
}

size_t TimeWindow::open_windows() const {
  if (tumbling()) return window_groups_.size();
  // The distinct window starts holding a pane: each pane lies in the windows starting in
  // (start - I, start] on the hop grid.
  const TimeMs I = options_.interval, H = options_.hop, O = options_.offset;
  size_t n = 0;
  TimeMs next = kMinTime;  // the first window start not counted yet
  for (const auto& [start, groups] : window_groups_) {
    const TimeMs lo = std::max(grid_floor(start - I, H, O) + H, next);
    const TimeMs hi = grid_floor(start, H, O);
    if (hi < lo) continue;
    n += static_cast<size_t>((hi - lo) / H + 1);
    next = hi + H;
  }
  return n;
}

TimeMs TimeWindow::watermark() const {
  if (!per_key_) return clock_.watermark;
  TimeMs w = keys_.empty() ? kMinTime : kMaxTime;
  for (const auto& [key, k] : keys_) w = std::min(w, k.clock->watermark);
  return w;
}

Value TimeWindow::stage_entry() const {
  const TimeMs watermark = this->watermark();
  Value v = Value::object();
  v.reserve(9);
  v.set("kind", Value(options_.kind));
  v.set("config", Value(config_));
  v.set("groups", Value(static_cast<int64_t>(groups())));
  v.set("openWindows", Value(static_cast<int64_t>(open_windows())));
  v.set("watermark", watermark == kMinTime ? Value() : Value(watermark));
  v.set("clock", save_clock(clock_));
  v.set("nextEnd", Value(next_end_));
  v.set("firedUpto", Value(fired_upto_));
  v.set("lastSweep", Value(last_sweep_));
  return v;
}

bool TimeWindow::load_stage(const Value& v) {
  auto text_is = [&](std::string_view name, std::string_view want) {
    const Value* x = v.find(name);
    return x != nullptr && x->is_string() && x->as_string() == want;
  };
  auto time_at = [&](std::string_view name, TimeMs& out) {
    const Value* x = v.find(name);
    return x != nullptr && load_time(*x, out);
  };
  WindowClock clock;
  TimeMs next_end = 0, fired_upto = 0, last_sweep = 0;
  const Value* c = v.find("clock");
  if (!text_is("kind", options_.kind) || !text_is("config", config_) || c == nullptr ||
      !load_clock(*c, clock) || !time_at("nextEnd", next_end) ||
      !time_at("firedUpto", fired_upto) || !time_at("lastSweep", last_sweep)) {
    return false;
  }
  clock_ = clock;
  next_end_ = next_end;
  fired_upto_ = fired_upto;
  last_sweep_ = last_sweep;
  return true;
}

Value TimeWindow::save_key(const Key& k) const {
  Value v = Value::object();
  v.set("id", save_value(k.id));
  Value panes = Value::array();
  panes.reserve(2 * k.panes.size());
  for (const Pane& p : k.panes) {
    panes.push_back(Value(p.start));
    panes.push_back(p.raw.save());
  }
  v.set("panes", std::move(panes));
  if (k.sliding) {
    const Sliding& w = *k.sliding;
    Value sliding = Value::array();
    sliding.reserve(5);
    sliding.push_back(Value(w.ws));
    sliding.push_back(Value(w.fe));
    sliding.push_back(Value(w.we));
    sliding.push_back(w.back.save());
    sliding.push_back(save_states(w.front.begin(), w.front.end()));
    v.set("sliding", std::move(sliding));
  }
  if (k.revisions) {
    Value revisions = Value::array();
    for (const auto& [start, revision] : *k.revisions) {
      revisions.push_back(Value(start));
      revisions.push_back(Value(revision));
    }
    v.set("revisions", std::move(revisions));
  }
  if (per_key_) {
    v.set("firedEnd", Value(k.fired_end));
    v.set("clock", save_clock(*k.clock));
  }
  return v;
}

bool TimeWindow::load_key(const Value& v, Key& k) const {
  // A state of this $group, required valid (panes and aggregates are added to).
  auto state_of = [&](const Value& saved, GroupState& out) {
    out = group_.new_state();
    return out.load(saved);
  };
  auto pairs = [](const Value* x) { return x != nullptr && x->is_array() && x->size() % 2 == 0; };
  const Value* id = v.find("id");
  const Value* panes = v.find("panes");
  if (id == nullptr || !load_value(*id, k.id) || !pairs(panes)) return false;
  for (size_t i = 0; i < panes->size(); i += 2) {
    Pane p;
    // On the pane grid, in order (find_pane() and the sliding aggregation rely on both).
    if (!load_time(panes->at(i), p.start) ||
        grid_floor(p.start, pane_, options_.offset) != p.start ||
        (!k.panes.empty() && p.start <= std::prev(k.panes.end())->start) ||
        !state_of(panes->at(i + 1), p.raw)) {
      return false;
    }
    k.panes.insert(k.panes.end(), std::move(p));
  }
  if (const Value* s = v.find("sliding")) {
    if (tumbling() || !s->is_array() || s->size() != 5) return false;
    auto w = std::make_unique<Sliding>();
    const Value& front = s->at(4);
    if (!load_time(s->at(0), w->ws) || !load_time(s->at(1), w->fe) || !load_time(s->at(2), w->we) ||
        w->ws > w->fe || w->fe > w->we || !state_of(s->at(3), w->back) || !pairs(&front) ||
        (!update_ && front.size() != 0)) {
      return false;
    }
    for (size_t i = 0; i < front.size(); i += 2) {
      TimeMs start = 0;
      GroupState f;
      if (!load_time(front.at(i), start) || !state_of(front.at(i + 1), f) ||
          !w->front.emplace(start, std::move(f)).second) {
        return false;
      }
    }
    // Late "update": every pane of the front stack has its suffix aggregate (add() and
    // slide() take them as there).
    for (const Pane& p : k.panes) {
      if (update_ && p.start >= w->ws && p.start < w->fe &&
          w->front.find(p.start) == w->front.end()) {
        return false;
      }
    }
    k.sliding = std::move(w);
  }
  if (const Value* r = v.find("revisions")) {
    if (!update_ || !pairs(r) || r->size() == 0) return false;
    auto revisions = std::make_unique<Revisions>();
    for (size_t i = 0; i < r->size(); i += 2) {
      TimeMs start = 0;
      int64_t revision = 0;
      if (!load_time(r->at(i), start) || !load_int(r->at(i + 1), 0, INT64_C(1) << 62, revision) ||
          !revisions->emplace(start, revision).second) {
        return false;
      }
    }
    k.revisions = std::move(revisions);
  }
  if (per_key_) {
    const Value* fired_end = v.find("firedEnd");
    const Value* clock = v.find("clock");
    k.clock = std::make_unique<WindowClock>();
    return fired_end != nullptr && load_time(*fired_end, k.fired_end) && clock != nullptr &&
           load_clock(*clock, *k.clock);
  }
  k.fired_end = fired_upto_;  // what fire_all() raises every key's to first
  return true;
}

void TimeWindow::save(StateWriter& out, SaveMode mode) {
  if (!batch_.empty()) out_.add_batch(batch_);  // (empty between calls)
  out.put(kStageKey, stage_entry());
  save_entries(out, mode, keys_, dirty_, kKeyPrefix, entry_key_, [&](const Key& k) { return save_key(k); });
  out_.save(out, mode);
}

void TimeWindow::load(StateReader& in) {
  bool ours = false;  // the stage entry (first in key order) is this stage's, of this config
  std::string id_text;
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
    if (!key.starts_with(kKeyPrefix)) return;
    Key k;
    if (!load_key(v, k)) return;  // that key starts fresh when it is next seen
    std::string text(key.substr(kKeyPrefix.size()));
    id_text.clear();
    k.id.append_json(id_text);
    if (id_text != text) return;
    auto [it, inserted] = keys_.emplace(std::move(text), std::move(k));
    if (!inserted) return;
    if (!it->second.panes.empty()) ++live_keys_;
    for (const Pane& p : it->second.panes) ++window_groups_[p.start];
  });
}

}  // namespace weir::pipeline
