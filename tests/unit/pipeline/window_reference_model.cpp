#include "unit/pipeline/window_reference_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace weir::reference {

namespace {

[[noreturn]] void unsupported(const std::string& what) {
  throw std::runtime_error("reference model: " + what);
}

TimeMs duration(const config::Json& j, const char* name) {
  if (!j.is_object() || !j.contains("size") || !j.contains("unit"))
    unsupported(std::string(name) + " is not a duration");
  const int64_t size = j.at("size").get<int64_t>();
  const std::string unit = j.at("unit").get<std::string>();
  if (unit == "ms") return size;
  if (unit == "second") return size * 1000;
  if (unit == "minute") return size * 60 * 1000;
  if (unit == "hour") return size * 60 * 60 * 1000;
  if (unit == "day") return size * 24 * 60 * 60 * 1000;
  unsupported(std::string(name) + " has unit " + unit);
}

ModelExpr expression(const config::Json& j) {
  ModelExpr e;
  if (j.is_string() && !j.get<std::string>().empty() && j.get<std::string>()[0] == '$') {
    e.is_path = true;
    e.path = FieldPath(j.get<std::string>().substr(1));
    return e;
  }
  if (j.is_object() || j.is_array()) unsupported("expression " + j.dump());
  e.constant = config::to_value(j);
  return e;
}

AccSpec accumulator(const std::string& output, const config::Json& j) {
  if (!j.is_object() || j.size() != 1) unsupported("accumulator " + output);
  const std::string op = j.begin().key();
  const config::Json& arg = j.begin().value();
  AccSpec a;
  a.output = output;
  static const std::pair<const char*, AccKind> kSimple[] = {{"$sum", AccKind::kSum},
                                                            {"$avg", AccKind::kAvg},
                                                            {"$min", AccKind::kMin},
                                                            {"$max", AccKind::kMax},
                                                            {"$first", AccKind::kFirst},
                                                            {"$last", AccKind::kLast},
                                                            {"$stdDevPop", AccKind::kStdDevPop},
                                                            {"$stdDevSamp", AccKind::kStdDevSamp}};
  for (const auto& [name, kind] : kSimple) {
    if (op == name) {
      a.kind = kind;
      a.input = expression(arg);
      return a;
    }
  }
  if (op == "$count") {
    a.kind = AccKind::kCount;
    return a;
  }
  if (op == "$median" || op == "$percentile") {
    a.kind = op == "$median" ? AccKind::kMedian : AccKind::kPercentile;
    a.input = expression(arg.at("input"));
    if (a.kind == AccKind::kMedian) {
      a.p = {0.5};
    } else {
      for (const auto& p : arg.at("p")) a.p.push_back(p.get<double>());
    }
    return a;
  }
  if (op == "$push" || op == "$addToSet") {
    a.kind = op == "$push" ? AccKind::kPush : AccKind::kAddToSet;
    if (arg.is_object() && arg.contains("input")) {
      a.input = expression(arg.at("input"));
      if (arg.contains("limit")) a.limit = arg.at("limit").get<size_t>();
    } else {
      a.input = expression(arg);
    }
    return a;
  }
  if (op == "$top" || op == "$bottom") {
    a.kind = op == "$top" ? AccKind::kTop : AccKind::kBottom;
    for (const auto& [field, dir] : arg.at("sortBy").items()) {
      a.sort_by.emplace_back(FieldPath(field), dir.get<int>());
    }
    a.input = expression(arg.at("output"));
    return a;
  }
  unsupported("accumulator " + op);
}

// The exact sum of 64-bit integers, in 128-bit two's complement (hi * 2^64 + lo); portable
// where the compiler has no __int128 (32-bit ARM).
struct WideInt {
  uint64_t lo = 0;
  int64_t hi = 0;
  void add(int64_t v) {
    const uint64_t sum = lo + static_cast<uint64_t>(v);
    hi += (v < 0 ? -1 : 0) + (sum < lo ? 1 : 0);
    lo = sum;
  }
  bool fits_int64() const {
    return (hi == 0 && lo <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) ||
           (hi == -1 && lo > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  }
  int64_t as_int64() const { return static_cast<int64_t>(lo); }
};

bool is_finite_number(const Value* v) {
  return v != nullptr && (v->is_int() || (v->is_double() && std::isfinite(v->as_double())));
}

// x = sorted[floor(p * (n - 1))]
Value rank_value(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return Value();
  const auto n = static_cast<double>(sorted.size());
  auto i = static_cast<size_t>(std::floor(p * (n - 1)));
  i = std::min(i, sorted.size() - 1);
  return Value(sorted[i]);
}

// Sum with compensation in long double: the exact value for the test's magnitudes.
long double precise_sum(const std::vector<long double>& xs) {
  long double s = 0;
  long double c = 0;
  for (long double x : xs) {
    long double t = s + x;
    if (std::fabs(s) >= std::fabs(x)) {
      c += (s - t) + x;
    } else {
      c += (x - t) + s;
    }
    s = t;
  }
  return s + c;
}

}  // namespace

const Value* ModelExpr::eval(const Value& doc) const {
  if (is_path) return doc.lookup(path);
  return &constant;
}

ModelSpec ModelSpec::parse(WindowKind kind, const config::Json& spec) {
  ModelSpec m;
  m.kind = kind;
  for (const auto& [key, value] : spec.items()) {
    if (key == "interval") {
      m.interval = duration(value, "interval");
    } else if (key == "hopSize") {
      m.hop = duration(value, "hopSize");
    } else if (key == "offset") {
      m.offset = duration(value, "offset");
    } else if (key == "gap") {
      m.gap = duration(value, "gap");
    } else if (key == "maxDuration") {
      m.max_duration = duration(value, "maxDuration");
    } else if (key == "partitionBy") {
      const ModelExpr e = expression(value);
      if (!e.is_path) unsupported("partitionBy other than a field path");
      m.partition_by = e.path;
    } else if (key == "allowedLateness") {
      m.allowed_lateness = duration(value, "allowedLateness");
    } else if (key == "idleTimeout") {
      m.idle_timeout = duration(value, "idleTimeout");
    } else if (key == "maxFutureSkew") {
      m.max_future_skew = duration(value, "maxFutureSkew");
    } else if (key == "updateFor") {
      m.update_for = duration(value, "updateFor");
    } else if (key == "maxGroups") {
      m.max_groups = value.get<size_t>();
    } else if (key == "boundary") {
      m.processing_time = value.get<std::string>() == "processingTime";
    } else if (key == "watermark") {
      m.per_key = value.get<std::string>() == "perKey";
    } else if (key == "late") {
      m.late_update = value.get<std::string>() == "update";
    } else if (key == "pipeline") {
      const config::Json& group = value.at(0).at("$group");
      for (const auto& [out, acc] : group.items()) {
        if (out == "_id") {
          if (acc.is_object() && !acc.empty() && acc.begin().key()[0] != '$') {
            m.id.is_document = true;
            for (const auto& [name, member] : acc.items())
              m.id.members.emplace_back(name, expression(member));
          } else {
            m.id.expr = expression(acc);
          }
        } else {
          m.accs.push_back(accumulator(out, acc));
        }
      }
    } else {
      unsupported("option " + key);
    }
  }
  if (kind == WindowKind::kTumbling) m.hop = m.interval;
  if (kind != WindowKind::kTumbling && m.max_groups != 1000000)
    unsupported("maxGroups outside $tumblingWindow");
  if (kind == WindowKind::kSession ? m.gap <= 0 : (m.interval <= 0 || m.hop <= 0))
    unsupported("sizes");
  return m;
}

TimeMs WindowModel::update_for() const {
  if (spec_.update_for > 0) return spec_.update_for;
  return spec_.kind == WindowKind::kSession ? spec_.gap : spec_.interval;
}

TimeMs WindowModel::watermark(const std::string& key) const {
  if (spec_.processing_time) return now_;
  auto it = clocks_.find(key);
  if (it == clocks_.end()) return kMinTime;
  const KeyClock& c = it->second;
  TimeMs w = c.idle_w;
  if (c.max_t > kMinTime) w = std::max(w, c.max_t - spec_.allowed_lateness);
  return w;
}

TimeMs WindowModel::max_watermark() const {
  if (spec_.processing_time) return now_;
  TimeMs w = kMinTime;
  for (const auto& [key, c] : clocks_) w = std::max(w, watermark(key));
  return w;
}

bool WindowModel::eval_id(const Value& doc, Value& id) const {
  if (!spec_.id.is_document) {
    const Value* v = spec_.id.expr.eval(doc);
    if (v == nullptr) return false;
    id = *v;
    return true;
  }
  id = Value::object();
  for (const auto& [name, e] : spec_.id.members) {
    const Value* v = e.eval(doc);
    if (v == nullptr) return false;
    id.set(name, *v);
  }
  return true;
}

std::vector<std::pair<TimeMs, TimeMs>> WindowModel::windows_of(TimeMs t) const {
  // Every window [s, s + interval) with s = offset + k * hop and t - interval < s <= t.
  std::vector<std::pair<TimeMs, TimeMs>> out;
  TimeMs s = floor_div(t - spec_.offset, spec_.hop) * spec_.hop + spec_.offset;
  for (; s > t - spec_.interval; s -= spec_.hop) out.emplace_back(s, s + spec_.interval);
  return out;
}

std::vector<WindowModel::Component> WindowModel::components(const std::string& partition,
                                                            int64_t cell) const {
  std::vector<Component> out;
  auto it = by_partition_.find({partition, cell});
  if (it == by_partition_.end()) return out;
  // A fired session keeps exactly its readings; the others form sessions among themselves
  // (a reading may sit near a fired session that is no longer remembered).
  std::map<TimeMs, Component> fired;
  std::vector<size_t> members;
  for (size_t m : it->second) {
    const Accepted& a = accepted_[m];
    if (a.session == kMinTime) {
      members.push_back(m);
      continue;
    }
    Component& f = fired[a.session];
    if (f.members.empty()) f.min = f.max = a.t;
    f.min = std::min(f.min, a.t);
    f.max = std::max(f.max, a.t);
    f.members.push_back(m);
  }
  std::sort(members.begin(), members.end(), [&](size_t a, size_t b) {
    return std::tie(accepted_[a].t, a) < std::tie(accepted_[b].t, b);
  });
  for (size_t m : members) {
    const TimeMs t = accepted_[m].t;
    if (out.empty() || t - out.back().max >= spec_.gap) {
      out.emplace_back();
      out.back().min = t;
    }
    out.back().members.push_back(m);
    out.back().max = t;
  }
  for (auto& [start, f] : fired) {
    std::sort(f.members.begin(), f.members.end(), [&](size_t a, size_t b) {
      return std::tie(accepted_[a].t, a) < std::tie(accepted_[b].t, b);
    });
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const Component& a, const Component& b) { return a.min < b.min; });
  for (Component& c : out) {
    auto f = fired_sessions_.find({partition, cell, c.min});
    if (f == fired_sessions_.end()) continue;
    if (f->second != c.max)
      throw std::logic_error("reference model: a fired session changed its bounds");
    c.fired = true;
  }
  return out;
}

void WindowModel::reject(size_t index, const char* reason) {
  result_.rejections.push_back({index, reason});
}

void WindowModel::step(const Step& s) {
  const size_t index = steps_++;
  now_ = s.now;
  switch (s.kind) {
    case Step::Kind::kReading:
      reading(index, s);
      break;
    case Step::Kind::kTick:
      tick(index);
      break;
    case Step::Kind::kFlush:
      emit(index, fire(nullptr, true));
      break;
  }
}

void WindowModel::tick(size_t index) {
  if (spec_.processing_time) {
    emit(index, fire(nullptr, false));
    return;
  }
  if (spec_.idle_timeout <= 0) return;
  std::vector<Pending> all;
  for (auto& [key, c] : clocks_) {
    if (!c.any || now_ - c.last_now < spec_.idle_timeout) continue;
    std::vector<Pending> fired = fire(&key, true);
    for (const Pending& p : fired) c.idle_w = std::max(c.idle_w, p.end);
    all.insert(all.end(), fired.begin(), fired.end());
  }
  emit(index, all);
}

void WindowModel::reading(size_t index, const Step& s) {
  const Value& doc = s.doc;
  if (!spec_.processing_time && s.t > s.now + spec_.max_future_skew) return reject(index, "future");
  const TimeMs t = spec_.processing_time ? s.now : s.t;
  Accepted a;
  a.t = t;
  a.doc = doc;
  if (spec_.kind == WindowKind::kSession) {
    const Value* p = doc.lookup(spec_.partition_by);
    if (p == nullptr) return reject(index, "missing_partition");
    a.partition = p->to_json();
    a.cell = spec_.max_duration > 0 ? floor_div(t, spec_.max_duration) : 0;
  }
  if (!eval_id(doc, a.id)) return reject(index, "missing_group");
  a.id_json = a.id.to_json();
  if (spec_.per_key) a.key = spec_.kind == WindowKind::kSession ? a.partition : a.id_json;
  // Processing time: the watermark is the clock; what ended by now fires first.
  if (spec_.processing_time) emit(index, fire(nullptr, false));
  const TimeMs w = watermark(a.key);
  const bool update = spec_.late_update;
  a.arrival = accepted_.size();
  const size_t me = a.arrival;

  std::vector<Emission> updates;  // fired windows re-emitted at once
  if (spec_.kind != WindowKind::kSession) {
    std::vector<std::pair<TimeMs, TimeMs>> open;
    std::vector<std::pair<TimeMs, TimeMs>> kept;
    for (const auto& win : windows_of(t)) {
      if (win.second > w) {
        open.push_back(win);
      } else if (update && w < win.second + update_for()) {
        kept.push_back(win);
      }
    }
    if (open.empty() && kept.empty()) return reject(index, "late");
    if (spec_.kind == WindowKind::kTumbling) {
      // maxGroups: the groups the window holds (open, or fired and kept for updates).
      const auto& win = open.empty() ? kept.front() : open.front();
      std::set<std::string> held;
      for (const Accepted& r : accepted_) {
        if (r.t < win.first || r.t >= win.second) continue;
        const TimeMs rw = watermark(r.key);
        if (win.second > rw || (update && rw < win.second + update_for())) held.insert(r.id_json);
      }
      if (held.count(a.id_json) == 0 && held.size() >= spec_.max_groups)
        return reject(index, "maxGroups");
    }
    accepted_.push_back(std::move(a));
    const Accepted& r = accepted_.back();
    for (const auto& win : open) open_windows_.emplace(r.key, win.first);
    for (const auto& win : kept) {
      std::vector<size_t> members;
      for (const Accepted& o : accepted_) {
        if (o.key == r.key && o.t >= win.first && o.t < win.second) members.push_back(o.arrival);
      }
      emit_groups(index, win.first, win.second, members, &r.id_json, updates);
    }
  } else {
    const std::vector<Component> comps = components(a.partition, a.cell);
    const Component* target = nullptr;
    bool near_fired = false;
    std::vector<const Component*> joins;
    for (const Component& c : comps) {
      const bool near = c.min - spec_.gap < t && t < c.max + spec_.gap;
      if (!near) continue;
      if (c.fired) {
        // Remembered until the watermark is a gap (update: max(gap, updateFor)) past its end.
        const TimeMs remember = update ? std::max(spec_.gap, update_for()) : spec_.gap;
        if (w >= c.max + spec_.gap + remember) continue;
        near_fired = true;
        if (update && c.min <= t && t <= c.max && w < c.max + spec_.gap + update_for()) target = &c;
      } else {
        joins.push_back(&c);
      }
    }
    if (near_fired && target == nullptr) return reject(index, "late");
    if (!near_fired && joins.empty() && t + spec_.gap <= w) return reject(index, "late");
    by_partition_[{a.partition, a.cell}].push_back(me);
    if (target == nullptr) open_partitions_.emplace(a.partition, a.cell);
    accepted_.push_back(std::move(a));
    if (target != nullptr) accepted_.back().session = target->min;
    if (target != nullptr) {
      std::vector<size_t> members = target->members;
      members.push_back(me);
      emit_groups(index, target->min, target->max + spec_.gap, members, &accepted_.back().id_json,
                  updates);
    }
  }
  const Accepted& r = accepted_.back();
  KeyClock& c = clocks_[r.key];
  c.max_t = std::max(c.max_t, r.t);
  c.last_now = now_;
  c.any = true;
  publish(std::move(updates));
  if (!spec_.processing_time) emit(index, fire(&r.key, false));
}

std::vector<WindowModel::Pending> WindowModel::fire(const std::string* only_key, bool everything) {
  std::vector<Pending> out;
  if (spec_.kind != WindowKind::kSession) {
    for (auto it = open_windows_.begin(); it != open_windows_.end();) {
      const auto& [key, start] = *it;
      const TimeMs end = start + spec_.interval;
      if ((only_key != nullptr && key != *only_key) || (!everything && end > watermark(key))) {
        ++it;
        continue;
      }
      Pending p{start, end, {}};
      for (const Accepted& r : accepted_) {
        if (r.key == key && r.t >= start && r.t < end) p.members.push_back(r.arrival);
      }
      out.push_back(std::move(p));
      it = open_windows_.erase(it);
    }
    return out;
  }
  for (auto it = open_partitions_.begin(); it != open_partitions_.end();) {
    const auto& [partition, cell] = *it;
    const std::vector<size_t>& members = by_partition_.at(*it);
    const std::string& key = accepted_[members.front()].key;
    bool still_open = false;
    if (only_key == nullptr || key == *only_key) {
      for (const Component& c : components(partition, cell)) {
        if (c.fired) continue;
        const TimeMs end = c.max + spec_.gap;
        if (!everything && end > watermark(key)) {
          still_open = true;
          continue;
        }
        fired_sessions_.emplace(std::make_tuple(partition, cell, c.min), c.max);
        for (size_t m : c.members) accepted_[m].session = c.min;
        out.push_back({c.min, end, c.members});
      }
    } else {
      still_open = true;
    }
    it = still_open ? std::next(it) : open_partitions_.erase(it);
  }
  return out;
}

void WindowModel::emit(size_t index, const std::vector<Pending>& fired) {
  std::vector<Emission> out;
  for (const Pending& p : fired) emit_groups(index, p.start, p.end, p.members, nullptr, out);
  publish(std::move(out));
}

void WindowModel::emit_groups(size_t index, TimeMs start, TimeMs end,
                              const std::vector<size_t>& members, const std::string* only_id,
                              std::vector<Emission>& out) const {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t m : members) {
    if (only_id == nullptr || accepted_[m].id_json == *only_id)
      groups[accepted_[m].id_json].push_back(m);
  }
  for (auto& [id_json, rs] : groups) {
    Emission e;
    e.step = index;
    e.start = start;
    e.end = end;
    e.id = accepted_[rs.front()].id;
    e.id_json = id_json;
    e.partition = accepted_[rs.front()].partition;
    e.doc = compute(rs, e.scales);
    out.push_back(std::move(e));
  }
}

void WindowModel::publish(std::vector<Emission> out) {
  std::stable_sort(out.begin(), out.end(), [](const Emission& a, const Emission& b) {
    if (a.end != b.end) return a.end < b.end;
    if (a.start != b.start) return a.start < b.start;
    return compare(a.id, b.id) < 0;
  });
  for (Emission& e : out) {
    Value window = Value::object();
    window.set("start", format_iso8601(e.start));
    window.set("end", format_iso8601(e.end));
    if (spec_.late_update) {
      auto [it, fresh] = revisions_.try_emplace({e.start, e.end, e.id_json}, 0);
      if (!fresh) ++it->second;
      e.revision = it->second;
      window.set("revision", Value(int64_t{e.revision}));
    }
    Value meta = Value::object();
    meta.set("window", std::move(window));
    meta.set("outputId", expected_output_id(spec_.pipeline, e.id_json, e.partition, e.start, e.end,
                                            std::max(e.revision, 0)));
    e.doc.set("_stream_meta", std::move(meta));
    result_.emissions.push_back(std::move(e));
  }
}

Value WindowModel::compute(const std::vector<size_t>& members_in,
                           std::vector<double>& scales) const {
  std::vector<const Accepted*> rs;
  for (size_t m : members_in) rs.push_back(&accepted_[m]);
  std::sort(rs.begin(), rs.end(), [](const Accepted* a, const Accepted* b) {
    return std::tie(a->t, a->arrival) < std::tie(b->t, b->arrival);
  });
  Value doc = Value::object();
  doc.set("_id", rs.front()->id);
  scales.clear();
  for (const AccSpec& acc : spec_.accs) {
    std::vector<const Value*> in;  // per reading, nullptr when missing
    for (const Accepted* r : rs)
      in.push_back(acc.kind == AccKind::kCount ? nullptr : acc.input.eval(r->doc));
    std::vector<double> nums;  // finite numbers, in order
    std::vector<long double> wide;
    bool all_int = true;
    WideInt isum;
    double scale = 0;
    for (const Value* v : in) {
      if (!is_finite_number(v)) continue;
      nums.push_back(v->as_double());
      wide.push_back(v->is_int() ? static_cast<long double>(v->as_int())
                                 : static_cast<long double>(v->as_double()));
      scale = std::max(scale, std::fabs(v->as_double()));
      if (v->is_int()) {
        isum.add(v->as_int());
      } else {
        all_int = false;
      }
    }
    scales.push_back(scale);
    Value result;
    switch (acc.kind) {
      case AccKind::kCount:
        result = Value(static_cast<int64_t>(rs.size()));
        break;
      case AccKind::kSum:
        if (all_int && isum.fits_int64()) {
          result = Value(isum.as_int64());
        } else {
          result = Value(static_cast<double>(precise_sum(wide)));
        }
        break;
      case AccKind::kAvg:
        if (!nums.empty())
          result =
              Value(static_cast<double>(precise_sum(wide) / static_cast<long double>(wide.size())));
        break;
      case AccKind::kMin:
      case AccKind::kMax: {
        const Value* best = nullptr;
        for (const Value* v : in) {
          if (v == nullptr || v->is_null()) continue;
          const int c = best == nullptr ? 0 : compare(*v, *best);
          if (best == nullptr || (acc.kind == AccKind::kMin ? c < 0 : c > 0)) best = v;
        }
        if (best != nullptr) result = *best;
        break;
      }
      case AccKind::kFirst:
        if (in.front() != nullptr) result = *in.front();
        break;
      case AccKind::kLast:
        if (in.back() != nullptr) result = *in.back();
        break;
      case AccKind::kStdDevPop:
      case AccKind::kStdDevSamp: {
        const size_t n = wide.size();
        const size_t denominator = acc.kind == AccKind::kStdDevPop ? n : n - 1;
        if (n == 0 || (acc.kind == AccKind::kStdDevSamp && n < 2)) break;
        const long double mean = precise_sum(wide) / static_cast<long double>(n);
        std::vector<long double> squares;
        for (long double x : wide) squares.push_back((x - mean) * (x - mean));
        result = Value(static_cast<double>(
            std::sqrt(precise_sum(squares) / static_cast<long double>(denominator))));
        break;
      }
      case AccKind::kMedian:
      case AccKind::kPercentile: {
        std::vector<double> sorted = nums;
        std::sort(sorted.begin(), sorted.end());
        if (acc.kind == AccKind::kMedian) {
          result = rank_value(sorted, 0.5);
        } else {
          result = Value::array();
          for (double p : acc.p) result.push_back(rank_value(sorted, p));
        }
        break;
      }
      case AccKind::kPush:
        result = Value::array();
        for (const Value* v : in) {
          if (v != nullptr && result.size() < acc.limit) result.push_back(*v);
        }
        break;
      case AccKind::kAddToSet: {
        // Distinct values with the earliest event time each was seen at.
        std::vector<std::pair<TimeMs, const Value*>> seen;
        for (size_t i = 0; i < in.size(); ++i) {
          if (in[i] == nullptr) continue;
          bool known = false;
          for (auto& [when, v] : seen) {
            if (compare(*v, *in[i]) == 0) {
              known = true;
              when = std::min(when, rs[i]->t);
            }
          }
          if (!known) seen.emplace_back(rs[i]->t, in[i]);
        }
        std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
          if (a.first != b.first) return a.first < b.first;
          return compare(*a.second, *b.second) < 0;
        });
        result = Value::array();
        for (size_t i = 0; i < seen.size() && i < acc.limit; ++i) result.push_back(*seen[i].second);
        break;
      }
      case AccKind::kTop:
      case AccKind::kBottom: {
        // Compares two readings by sortBy (missing as null, -1 descending).
        auto order = [&](const Accepted* a, const Accepted* b) {
          static const Value kNull;
          for (const auto& [path, dir] : acc.sort_by) {
            const Value* x = a->doc.lookup(path);
            const Value* y = b->doc.lookup(path);
            const int c =
                compare(x != nullptr ? *x : kNull, y != nullptr ? *y : kNull) * (dir < 0 ? -1 : 1);
            if (c != 0) return c;
          }
          return 0;
        };
        const Accepted* best = nullptr;
        for (const Accepted* r : rs) {  // in (event time, arrival) order: ties keep the earliest
          if (best == nullptr ||
              (acc.kind == AccKind::kTop ? order(r, best) < 0 : order(r, best) > 0))
            best = r;
        }
        const Value* v = acc.input.eval(best->doc);
        if (v != nullptr) result = *v;
        break;
      }
    }
    doc.set(acc.output, std::move(result));
  }
  return doc;
}

ModelResult run_model(const ModelSpec& spec, const std::vector<Step>& steps) {
  WindowModel model(spec);
  for (const Step& s : steps) model.step(s);
  return model.result();
}

std::string describe(const Emission& e) {
  std::string s = "step " + std::to_string(e.step) + " [" + format_iso8601(e.start) + ", " +
                  format_iso8601(e.end) + ") _id " + e.id_json;
  if (e.revision >= 0) s += " rev " + std::to_string(e.revision);
  return s;
}

bool same_value(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kNull:
      return true;
    case Value::Type::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Type::kInt:
      return a.as_int() == b.as_int();
    case Value::Type::kDouble:
      return a.as_double() == b.as_double();
    case Value::Type::kString:
      return a.as_string() == b.as_string();
    case Value::Type::kArray:
    case Value::Type::kObject:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (a.is_object() && a.key(i) != b.key(i)) return false;
        if (!same_value(a.at(i), b.at(i))) return false;
      }
      return true;
  }
  return false;
}

namespace {

std::string near(const Value& engine, const Value& model, double tolerance) {
  if (model.is_null() || engine.is_null()) {
    return engine.is_null() && model.is_null() ? "" : "null on one side only";
  }
  if (!engine.is_double()) return "not a double";
  const double d = std::fabs(engine.as_double() - model.as_double());
  return d <= tolerance
             ? ""
             : "off by " + std::to_string(d) + " (tolerance " + std::to_string(tolerance) + ")";
}

std::string within_rank_error(const Value& engine, const Value& model) {
  if (model.is_null() || engine.is_null()) {
    return engine.is_null() && model.is_null() ? "" : "null on one side only";
  }
  if (!engine.is_number()) return "not a number";
  const double x = model.as_double();
  const double v = engine.as_double();
  return std::fabs(v - x) <= 0.01 * std::fabs(x) * (1 + 1e-9)
             ? ""
             : "more than 1% from the exact rank value " + model.to_json();
}

}  // namespace

std::string compare_documents(const ModelSpec& spec, const Value& engine, const Emission& model) {
  const Value& m = model.doc;
  if (!engine.is_object()) return "the engine's document is not an object";
  if (engine.size() != m.size()) return "member count differs";
  for (size_t i = 0; i < m.size(); ++i) {
    if (engine.key(i) != m.key(i))
      return "member " + std::to_string(i) + " is \"" + engine.key(i) + "\", expected \"" +
             m.key(i) + "\"";
  }
  if (!same_value(*engine.find("_id"), *m.find("_id"))) return "_id differs";
  if (!same_value(*engine.find("_stream_meta"), *m.find("_stream_meta")))
    return "_stream_meta differs";
  for (size_t k = 0; k < spec.accs.size(); ++k) {
    const AccSpec& acc = spec.accs[k];
    const Value& e = *engine.find(acc.output);
    const Value& x = *m.find(acc.output);
    const double scale = model.scales[k];
    std::string why;
    switch (acc.kind) {
      case AccKind::kSum:
        if (x.is_int()) {
          if (!same_value(e, x)) why = "differs";
        } else {
          why = near(e, x, 1e-9 * std::max(std::fabs(x.as_double()), 1.0) + 1e-13 * scale);
        }
        break;
      case AccKind::kAvg:
        why = near(e, x, 1e-9 * std::max(std::fabs(x.as_double()), 1.0) + 1e-13 * scale);
        break;
      case AccKind::kStdDevPop:
      case AccKind::kStdDevSamp:
        why = near(e, x, 0.0);
        if (!why.empty() && e.is_double() && x.is_double()) {
          // Compare the variances: a running algorithm loses digits relative to the scale.
          const double a = e.as_double() * e.as_double();
          const double b = x.as_double() * x.as_double();
          why = std::fabs(a - b) <= 1e-9 * b + 1e-12 * scale * scale + 1e-300 ? "" : why;
        }
        break;
      case AccKind::kMedian:
        why = within_rank_error(e, x);
        break;
      case AccKind::kPercentile:
        if (!e.is_array() || e.size() != x.size()) {
          why = "not an array of " + std::to_string(x.size());
          break;
        }
        for (size_t i = 0; i < x.size() && why.empty(); ++i)
          why = within_rank_error(e.at(i), x.at(i));
        break;
      default:
        if (!same_value(e, x)) why = "differs";
        break;
    }
    if (!why.empty()) {
      return acc.output + ": engine " + e.to_json() + " model " + x.to_json() + " (" + why + ")";
    }
  }
  return "";
}

std::string expected_output_id(const std::string& pipeline, const std::string& id_json,
                               const std::string& partition, TimeMs start, TimeMs end,
                               int64_t revision) {
  uint64_t h = 14695981039346656037ull;  // the FNV-1a 64-bit offset basis
  for (const std::string& field : {pipeline, id_json, partition, std::to_string(start),
                                   std::to_string(end), std::to_string(revision)}) {
    std::string bytes = field;
    bytes.push_back(static_cast<char>(0xff));
    for (char c : bytes) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;  // the FNV-1a 64-bit prime
    }
  }
  static const char* const kDigits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kDigits[h & 15];
  return out;
}

}  // namespace weir::reference
