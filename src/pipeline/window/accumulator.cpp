#include "pipeline/window/accumulator.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include "pipeline/window/ddsketch.hpp"
#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {

// Sort keys of $top and $bottom: a field path of the reading, 1 ascending or -1 descending.
struct SortField {
  FieldPath path;
  int direction;
};

struct AccumulatorParams {
  std::vector<double> percentiles;  // $percentile's p; {0.5} for $median
  size_t limit = static_cast<size_t>(Accumulator::kDefaultLimit);  // $push, $addToSet
  std::vector<SortField> sort_by;   // $top, $bottom
};

namespace {

struct KindName {
  std::string_view name;
  AccumulatorKind kind;
};
constexpr KindName kKinds[] = {
    {"$count", AccumulatorKind::kCount}, {"$sum", AccumulatorKind::kSum},
    {"$avg", AccumulatorKind::kAvg},     {"$min", AccumulatorKind::kMin},
    {"$max", AccumulatorKind::kMax},     {"$first", AccumulatorKind::kFirst},
    {"$last", AccumulatorKind::kLast},   {"$stdDevPop", AccumulatorKind::kStdDevPop},
    {"$stdDevSamp", AccumulatorKind::kStdDevSamp}, {"$median", AccumulatorKind::kMedian},
    {"$percentile", AccumulatorKind::kPercentile}, {"$push", AccumulatorKind::kPush},
    {"$addToSet", AccumulatorKind::kAddToSet},     {"$top", AccumulatorKind::kTop},
    {"$bottom", AccumulatorKind::kBottom},
};

// $sum and $avg.
struct NumericState {
  int64_t count;    // numeric values taken
  int64_t int_sum;  // exact sum while every value is an integer
  double sum;       // Neumaier-compensated sum of all numeric values
  double compensation;
  bool all_int;     // every value so far an integer, and int_sum did not overflow
};

// $min, $max, $first, $last: the value held, with the event time it came with.
struct HeldState {
  enum Kind : uint8_t { kNone, kNull, kBool, kInt, kDouble, kHeap };
  TimeMs time;
  union {
    int64_t i;
    double d;
    Value* heap;
  };
  Kind kind;

  void hold(const Value& v, TimeMs t) {
    if (v.is_int() || v.is_double() || v.is_bool() || v.is_null()) {
      if (kind == kHeap) delete heap;
      if (v.is_int()) {
        i = v.as_int();
        kind = kInt;
      } else if (v.is_double()) {
        d = v.as_double();
        kind = kDouble;
      } else if (v.is_bool()) {
        i = v.as_bool() ? 1 : 0;
        kind = kBool;
      } else {
        kind = kNull;
      }
    } else if (kind == kHeap) {
      *heap = v;
    } else {
      heap = new Value(v);
      kind = kHeap;
    }
    time = t;
  }

  Value value() const {
    switch (kind) {
      case kNone:
      case kNull: return Value();
      case kBool: return Value(i != 0);
      case kInt: return Value(i);
      case kDouble: return Value(d);
      case kHeap: return *heap;
    }
    return Value();
  }
};

// $stdDevPop and $stdDevSamp: Welford's algorithm, stable where the textbook
// sum-of-squares formula loses everything to cancellation (readings of 1e9 + small noise).
struct DeviationState {
  int64_t count;
  double mean;
  double m2;  // sum of squared deviations from the running mean

  void add(double x) {
    ++count;
    const double delta = x - mean;
    mean += delta / static_cast<double>(count);
    m2 += delta * (x - mean);
  }
};

static_assert(sizeof(NumericState) == 40 && sizeof(HeldState) == 24 && sizeof(DeviationState) == 24);
static_assert(alignof(NumericState) <= 8 && alignof(HeldState) <= 8);

void add_number(NumericState& n, const Value& v) {
  double d = v.as_double();
  // Neumaier's compensated summation: stable over long windows.
  double t = n.sum + d;
  if (std::fabs(n.sum) >= std::fabs(d)) {
    n.compensation += (n.sum - t) + d;
  } else {
    n.compensation += (d - t) + n.sum;
  }
  n.sum = t;
  if (n.all_int) {
    if (v.is_int()) {
      int64_t r;
      if (__builtin_add_overflow(n.int_sum, v.as_int(), &r)) {
        n.all_int = false;
      } else {
        n.int_sum = r;
      }
    } else {
      n.all_int = false;
    }
  }
  ++n.count;
}

bool deviation_kind(AccumulatorKind k) {
  return k == AccumulatorKind::kStdDevPop || k == AccumulatorKind::kStdDevSamp;
}

bool held_kind(AccumulatorKind k) {
  return k == AccumulatorKind::kMin || k == AccumulatorKind::kMax || k == AccumulatorKind::kFirst ||
         k == AccumulatorKind::kLast;
}

// --- Merging the original kinds -------------------------------------------------------

void merge_numbers(NumericState& d, const NumericState& s) {
  if (s.count == 0) return;
  if (d.count == 0) {
    d = s;
    return;
  }
  // Neumaier: the rounding error of adding the two sums joins both compensations.
  const double t = d.sum + s.sum;
  if (std::fabs(d.sum) >= std::fabs(s.sum)) {
    d.compensation += (d.sum - t) + s.sum;
  } else {
    d.compensation += (s.sum - t) + d.sum;
  }
  d.compensation += s.compensation;
  d.sum = t;
  if (d.all_int && s.all_int) {
    int64_t r;
    if (__builtin_add_overflow(d.int_sum, s.int_sum, &r)) {
      d.all_int = false;
    } else {
      d.int_sum = r;
    }
  } else {
    d.all_int = false;
  }
  d.count += s.count;
}

// Chan, Golub and LeVeque's combination of two Welford states.
void merge_deviations(DeviationState& d, const DeviationState& s) {
  if (s.count == 0) return;
  if (d.count == 0) {
    d = s;
    return;
  }
  const int64_t n = d.count + s.count;
  const double delta = s.mean - d.mean;
  const double dn = static_cast<double>(d.count);
  const double sn = static_cast<double>(s.count);
  d.mean += delta * (sn / static_cast<double>(n));
  d.m2 += s.m2 + delta * delta * (dn * sn / static_cast<double>(n));
  d.count = n;
}

// The held value without copying a heap one.
const Value& held_ref(const HeldState& h, Value& tmp) {
  if (h.kind == HeldState::kHeap) return *h.heap;
  tmp = h.value();
  return tmp;
}

void copy_held(HeldState& d, const HeldState& s) {
  if (s.kind == HeldState::kHeap) {
    d.hold(*s.heap, s.time);
  } else {
    d.hold(s.value(), s.time);
  }
}

// --- The kinds added with merge ---------------------------------------------------------

// A value with the event time of its reading ($push, $addToSet).
struct TimedValue {
  TimeMs time;
  Value value;
};

// $push: the kept values in (time, arrival) order.
using PushState = std::vector<TimedValue>;

// $addToSet: the kept distinct values sorted by compare() (found by binary search), each
// with the earliest time it was seen at; `last` is the position of the entry with the
// largest (time, value), the first to go when a smaller one comes in at the limit.
struct SetState {
  std::vector<TimedValue> by_value;
  size_t last;
};

// $top and $bottom: the winning reading so far.
struct TopEntry {
  std::vector<Value> keys;  // its sortBy fields (missing as null)
  Value output;
  TimeMs time;
};

// Every state starts at a multiple of kStateAlign in the group's block (state_size() rounds
// up), and the block itself comes from operator new[], aligned at least that much: so a
// state is always aligned for its type, on 32-bit ARM as on x86-64.
constexpr size_t kStateAlign = 8;
static_assert(alignof(PushState) <= kStateAlign && alignof(SetState) <= kStateAlign &&
              alignof(NumericState) <= kStateAlign && alignof(DeviationState) <= kStateAlign &&
              alignof(HeldState) <= kStateAlign && alignof(int64_t) <= kStateAlign &&
              alignof(DDSketch*) <= kStateAlign && alignof(TopEntry*) <= kStateAlign);
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= kStateAlign);

// The typed view of a state's bytes (through void*: the alignment is guaranteed above).
template <typename T>
T* typed(std::byte* state) noexcept {
  return std::launder(static_cast<T*>(static_cast<void*>(state)));
}
template <typename T>
const T* typed(const std::byte* state) noexcept {
  return std::launder(static_cast<const T*>(static_cast<const void*>(state)));
}

template <typename T>
T& state_as(std::byte* state) noexcept {
  return *typed<T>(state);
}
template <typename T>
const T& state_as(const std::byte* state) noexcept {
  return *typed<T>(state);
}

// The largest state_size() of any kind (the scratch state of a self-merge).
constexpr size_t kMaxStateSize = 40;
static_assert(sizeof(NumericState) <= kMaxStateSize && sizeof(SetState) <= kMaxStateSize &&
              sizeof(PushState) <= kMaxStateSize && sizeof(HeldState) <= kMaxStateSize);

// Approximate heap memory of a Value beyond sizeof(Value).
size_t string_heap_bytes(const std::string& s) noexcept {
  static const size_t kInline = std::string().capacity();
  return s.capacity() > kInline ? s.capacity() + 1 : 0;
}

size_t value_heap_bytes(const Value& v) noexcept {
  switch (v.type()) {
    case Value::Type::kString: return string_heap_bytes(v.as_string());
    case Value::Type::kArray:
    case Value::Type::kObject: {
      // The compound (two vectors), the items, and for objects the keys.
      size_t bytes = 2 * sizeof(std::vector<Value>) + v.size() * sizeof(Value);
      for (size_t i = 0; i < v.size(); ++i) {
        bytes += value_heap_bytes(v.at(i));
        if (v.is_object()) bytes += sizeof(std::string) + string_heap_bytes(v.key(i));
      }
      return bytes;
    }
    default: return 0;
  }
}

size_t timed_heap_bytes(const std::vector<TimedValue>& entries) noexcept {
  size_t bytes = entries.capacity() * sizeof(TimedValue);
  for (const auto& e : entries) bytes += value_heap_bytes(e.value);
  return bytes;
}

// A value to keep: moved out of the scratch it was evaluated into, else copied.
Value take(const Value& v, Value& scratch) {
  if (&v == &scratch) return std::move(scratch);
  return v;
}

void push_value(PushState& entries, size_t limit, TimeMs t, Value v) {
  // After every entry of the same time (arrival order), the first `limit` kept.
  if (entries.size() >= limit && t >= entries.back().time) return;
  auto pos = std::upper_bound(entries.begin(), entries.end(), t,
                              [](TimeMs x, const TimedValue& e) { return x < e.time; });
  entries.insert(pos, TimedValue{t, std::move(v)});
  if (entries.size() > limit) entries.pop_back();
}

void merge_push(PushState& d, const PushState& s, size_t limit) {
  if (s.empty()) return;
  PushState out;
  out.reserve(std::min(limit, d.size() + s.size()));
  size_t i = 0;
  size_t j = 0;
  // On equal times dst's entries first, as if they had arrived first.
  while (out.size() < limit && (i < d.size() || j < s.size())) {
    if (i == d.size() || (j < s.size() && s[j].time < d[i].time)) {
      out.push_back(s[j++]);
    } else {
      out.push_back(std::move(d[i++]));
    }
  }
  d = std::move(out);
}

// (time, value) order of $addToSet.
bool set_key_less(TimeMs ta, const Value& a, TimeMs tb, const Value& b) noexcept {
  return ta < tb || (ta == tb && compare(a, b) < 0);
}

void set_find_last(SetState& s) noexcept {
  s.last = 0;
  for (size_t i = 1; i < s.by_value.size(); ++i) {
    const auto& e = s.by_value[i];
    const auto& l = s.by_value[s.last];
    if (set_key_less(l.time, l.value, e.time, e.value)) s.last = i;
  }
}

// Keeps the `limit` distinct values with the smallest (earliest time, value): a value
// already kept only moves to an earlier time; a value not kept comes in when it sorts
// before the largest kept one (which then goes). A dropped value seen again at a time no
// earlier than before cannot come in: the largest kept key only ever gets smaller.
void add_to_set(SetState& s, size_t limit, TimeMs t, const Value& v, Value* movable) {
  auto& e = s.by_value;
  auto by_value = [](const TimedValue& x, const Value& y) { return compare(x.value, y) < 0; };
  auto it = std::lower_bound(e.begin(), e.end(), v, by_value);
  if (it != e.end() && compare(it->value, v) == 0) {
    // The same value: it keeps its earliest time, with the form it had then (1 or 1.0).
    if (t < it->time) {
      it->time = t;
      it->value = movable != nullptr ? std::move(*movable) : v;
      if (static_cast<size_t>(it - e.begin()) == s.last) set_find_last(s);
    }
    return;
  }
  Value kept = movable != nullptr ? std::move(*movable) : v;
  if (e.size() >= limit) {
    const auto& l = e[s.last];
    if (!set_key_less(t, kept, l.time, l.value)) return;
    const bool before = s.last < static_cast<size_t>(it - e.begin());
    auto pos = it - e.begin() - (before ? 1 : 0);
    e.erase(e.begin() + static_cast<std::ptrdiff_t>(s.last));
    e.insert(e.begin() + pos, TimedValue{t, std::move(kept)});
    set_find_last(s);
    return;
  }
  const auto pos = static_cast<size_t>(it - e.begin());
  e.insert(it, TimedValue{t, std::move(kept)});
  if (e.size() == 1) {
    s.last = 0;
    return;
  }
  if (s.last >= pos) ++s.last;
  const auto& l = e[s.last];
  if (set_key_less(l.time, l.value, t, e[pos].value)) s.last = pos;
}

// Compares two readings' sort keys in sortBy order: < 0 when a sorts first.
int compare_sort_keys(const std::vector<SortField>& fields, const std::vector<Value>& a,
                      const std::vector<Value>& b) noexcept {
  for (size_t i = 0; i < fields.size(); ++i) {
    const int c = compare(a[i], b[i]);
    if (c != 0) return c * fields[i].direction;
  }
  return 0;
}

// Rejects keys of an accumulator's argument object that are not in `allowed`.
void check_keys(const config::Node& arg, std::string_view op,
                std::initializer_list<std::string_view> allowed) {
  arg.expect_object();
  for (auto it = arg.json().begin(); it != arg.json().end(); ++it) {
    bool known = false;
    for (auto a : allowed) known = known || a == it.key();
    if (known) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
    throw config::ConfigError(arg.path() + "/" + config::pointer_escape(it.key()),
                              "unknown option \"" + it.key() + "\" of " + std::string(op) +
                                  ", expected one of " + list);
  }
}

}  // namespace

Accumulator Accumulator::compile(const std::string& output, const config::Node& node) {
  std::string op = node.single_operator_key("accumulator");
  for (const auto& k : kKinds) {
    if (k.name != op) continue;
    config::Node arg = node.at(op);
    switch (k.kind) {
      case AccumulatorKind::kCount:
        if (!arg.is_object() || arg.size() != 0) arg.fail("{} ($count takes no argument)");
        return Accumulator(output, k.kind, nullptr);
      case AccumulatorKind::kMedian:
      case AccumulatorKind::kPercentile: {
        // {"input": expr, "p": [...], "method": "approximate"} ($median without p).
        const bool median = k.kind == AccumulatorKind::kMedian;
        if (!arg.is_object()) {
          arg.fail(median ? R"({"input": <expression>, "method": "approximate"})"
                          : R"({"input": <expression>, "p": [<numbers from 0 to 1>], "method": "approximate"})");
        }
        if (median) {
          check_keys(arg, op, {"input", "method"});
        } else {
          check_keys(arg, op, {"input", "p", "method"});
        }
        auto input = compile_expression(arg.at("input"));
        arg.at("method").as_enum({"approximate"});
        auto params = std::make_shared<AccumulatorParams>();
        if (median) {
          params->percentiles.push_back(0.5);
        } else {
          config::Node ps = arg.at("p");
          ps.expect_array(true);
          for (size_t i = 0; i < ps.size(); ++i) {
            config::Node p = ps.at(i);
            if (!p.is_number() || !(p.as_number() >= 0.0 && p.as_number() <= 1.0)) {
              p.fail("a number from 0 to 1");
            }
            params->percentiles.push_back(p.as_number());
          }
        }
        return Accumulator(output, k.kind, std::move(input), std::move(params));
      }
      case AccumulatorKind::kPush:
      case AccumulatorKind::kAddToSet: {
        // expr, or {"input": expr, "limit": N}: an object naming "input" or "limit" is the
        // options form (a document expression with such fields can be put under "input").
        auto params = std::make_shared<AccumulatorParams>();
        if (arg.is_object() && (arg.json().contains("input") || arg.json().contains("limit"))) {
          check_keys(arg, op, {"input", "limit"});
          auto input = compile_expression(arg.at("input"));
          if (auto limit = arg.get("limit")) {
            const auto& j = limit->json();
            if (!j.is_number_integer() || j.get<int64_t>() < 1 || j.get<int64_t>() > kMaxLimit) {
              limit->fail("a positive integer (at most " + std::to_string(kMaxLimit) + ")");
            }
            params->limit = static_cast<size_t>(j.get<int64_t>());
          }
          return Accumulator(output, k.kind, std::move(input), std::move(params));
        }
        return Accumulator(output, k.kind, compile_expression(arg), std::move(params));
      }
      case AccumulatorKind::kTop:
      case AccumulatorKind::kBottom: {
        if (!arg.is_object()) arg.fail(R"({"sortBy": {"<field>": 1 or -1, ...}, "output": <expression>})");
        check_keys(arg, op, {"sortBy", "output"});
        config::Node sort_by = arg.at("sortBy");
        if (!sort_by.is_object() || sort_by.size() == 0) {
          sort_by.fail(R"(a non-empty object of fields and 1 (ascending) or -1 (descending), such as {"t": 1})");
        }
        auto params = std::make_shared<AccumulatorParams>();
        for (auto it = sort_by.json().begin(); it != sort_by.json().end(); ++it) {
          config::Node dir = sort_by.at(it.key());
          if (it.key().empty() || it.key()[0] == '$') dir.fail("a field name without a leading \"$\" as the key");
          const auto& j = dir.json();
          if (!j.is_number_integer() || (j.get<int64_t>() != 1 && j.get<int64_t>() != -1)) {
            dir.fail("1 (ascending) or -1 (descending)");
          }
          params->sort_by.push_back(SortField{FieldPath(it.key()), static_cast<int>(j.get<int64_t>())});
        }
        auto out = compile_expression(arg.at("output"));
        return Accumulator(output, k.kind, std::move(out), std::move(params));
      }
      default: return Accumulator(output, k.kind, compile_expression(arg));
    }
  }
  std::string list;
  for (const auto& k : kKinds) list += (list.empty() ? "" : ", ") + std::string(k.name);
  throw config::ConfigError(node.path() + "/" + config::pointer_escape(op),
                            "unknown accumulator \"" + op + "\", expected one of " + list);
}

size_t Accumulator::state_size() const noexcept {
  const size_t n = raw_state_size();
  return (n + kStateAlign - 1) / kStateAlign * kStateAlign;
}

size_t Accumulator::raw_state_size() const noexcept {
  switch (kind_) {
    case AccumulatorKind::kCount: return sizeof(int64_t);
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: return sizeof(NumericState);
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: return sizeof(DeviationState);
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: return sizeof(DDSketch*);
    case AccumulatorKind::kPush: return sizeof(PushState);
    case AccumulatorKind::kAddToSet: return sizeof(SetState);
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: return sizeof(TopEntry*);
    default: return sizeof(HeldState);
  }
}

// The states are plain bytes of the group's block; each kind's struct is created in place
// (placement new) and destroyed by releasing what it holds on the heap.
void Accumulator::init(std::byte* state) const noexcept {
  switch (kind_) {
    case AccumulatorKind::kCount: new (state) int64_t{0}; break;
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: new (state) NumericState{0, 0, 0.0, 0.0, true}; break;
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: new (state) DeviationState{0, 0.0, 0.0}; break;
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: new (state) DDSketch*{nullptr}; break;
    case AccumulatorKind::kPush: new (state) PushState(); break;
    case AccumulatorKind::kAddToSet: new (state) SetState{{}, 0}; break;
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: new (state) TopEntry*{nullptr}; break;
    default: {
      auto* h = new (state) HeldState;
      h->time = 0;
      h->i = 0;
      h->kind = HeldState::kNone;
    }
  }
}

void Accumulator::destroy(std::byte* state) const noexcept {
  switch (kind_) {
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
    case AccumulatorKind::kFirst:
    case AccumulatorKind::kLast: {
      auto* h = typed<HeldState>(state);
      if (h->kind == HeldState::kHeap) delete h->heap;
      h->kind = HeldState::kNone;
      break;
    }
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: {
      auto& p = state_as<DDSketch*>(state);
      delete p;
      p = nullptr;
      break;
    }
    case AccumulatorKind::kPush: state_as<PushState>(state).~PushState(); break;
    case AccumulatorKind::kAddToSet: state_as<SetState>(state).~SetState(); break;
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      auto& p = state_as<TopEntry*>(state);
      delete p;
      p = nullptr;
      break;
    }
    default: break;
  }
}

void Accumulator::add(std::byte* state, const Value& doc, TimeMs t) const {
  if (kind_ == AccumulatorKind::kCount) {
    ++*typed<int64_t>(state);
    return;
  }
  if (kind_ == AccumulatorKind::kTop || kind_ == AccumulatorKind::kBottom) {
    add_top(state, doc, t);  // evaluates its output only for a reading that wins
    return;
  }
  Value scratch;
  const Value& v = input_->eval(doc, scratch);
  if (kind_ == AccumulatorKind::kSum || kind_ == AccumulatorKind::kAvg) {
    if (v.is_number()) add_number(*typed<NumericState>(state), v);
    return;
  }
  if (deviation_kind(kind_)) {
    // Non-numeric values are ignored, as in MongoDB; so are NaN and infinities, which
    // would turn the whole window's deviation into NaN.
    if (v.is_number() && std::isfinite(v.as_double())) {
      typed<DeviationState>(state)->add(v.as_double());
    }
    return;
  }
  if (!held_kind(kind_)) {
    add_collected(state, v, scratch, t);
    return;
  }
  auto& h = *typed<HeldState>(state);
  switch (kind_) {
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
      if (v.is_null()) break;  // null and missing are ignored, as in MongoDB
      if (h.kind == HeldState::kNone) {
        h.hold(v, t);
      } else {
        int c = h.kind == HeldState::kHeap ? compare(v, *h.heap) : compare(v, h.value());
        // Equal values of different types (1 and 1.0): the earlier event time's, so that
        // the result does not depend on arrival order.
        if (kind_ == AccumulatorKind::kMin ? c < 0 : c > 0) {
          h.hold(v, t);
        } else if (c == 0 && t < h.time) {
          h.hold(v, t);
        }
      }
      break;
    case AccumulatorKind::kFirst:
      // Earliest event time wins; on a tie the earlier arrival stays.
      if (h.kind == HeldState::kNone || t < h.time) h.hold(v, t);
      break;
    case AccumulatorKind::kLast:
      // Latest event time wins; on a tie the later arrival replaces.
      if (h.kind == HeldState::kNone || t >= h.time) h.hold(v, t);
      break;
    default: break;
  }
}

void Accumulator::add_collected(std::byte* state, const Value& v, Value& scratch, TimeMs t) const {
  switch (kind_) {
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile:
      // Finite numbers only, as $stdDevPop.
      if (v.is_number() && std::isfinite(v.as_double())) {
        auto& sketch = state_as<DDSketch*>(state);
        if (sketch == nullptr) sketch = new DDSketch;
        sketch->add(v.as_double());
      }
      break;
    case AccumulatorKind::kPush:
      if (!is_missing(v)) push_value(state_as<PushState>(state), params_->limit, t, take(v, scratch));
      break;
    case AccumulatorKind::kAddToSet:
      if (!is_missing(v)) {
        add_to_set(state_as<SetState>(state), params_->limit, t, v, &v == &scratch ? &scratch : nullptr);
      }
      break;
    default: break;
  }
}

void Accumulator::add_top(std::byte* state, const Value& doc, TimeMs t) const {
  auto& held = state_as<TopEntry*>(state);
  const auto& fields = params_->sort_by;
  if (held != nullptr) {
    int c = 0;
    for (size_t i = 0; i < fields.size() && c == 0; ++i) {
      const Value* f = doc.lookup(fields[i].path);
      c = compare(f != nullptr ? *f : null_value(), held->keys[i]) * fields[i].direction;
    }
    // The first (top) or last (bottom) in sortBy order; on equal keys the earlier event
    // time, and on equal times the earlier arrival (the one held).
    const bool wins = (kind_ == AccumulatorKind::kTop ? c < 0 : c > 0) || (c == 0 && t < held->time);
    if (!wins) return;
  } else {
    held = new TopEntry{std::vector<Value>(fields.size()), Value(), t};
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Value* f = doc.lookup(fields[i].path);
    held->keys[i] = f != nullptr ? *f : Value();
  }
  Value scratch;
  const Value& out = input_->eval(doc, scratch);
  held->output = is_missing(out) ? Value() : take(out, scratch);
  held->time = t;
}

void Accumulator::merge(std::byte* dst, const std::byte* src) const {
  if (dst == src) {
    // Merging a state with itself: through a copy.
    struct Scratch {
      const Accumulator& acc;
      alignas(16) std::byte bytes[kMaxStateSize];
      ~Scratch() { acc.destroy(bytes); }
    } copy{*this, {}};
    init(copy.bytes);
    merge(copy.bytes, src);
    merge(dst, copy.bytes);
    return;
  }
  switch (kind_) {
    case AccumulatorKind::kCount:
      state_as<int64_t>(dst) += state_as<int64_t>(src);
      break;
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg:
      merge_numbers(state_as<NumericState>(dst), state_as<NumericState>(src));
      break;
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp:
      merge_deviations(state_as<DeviationState>(dst), state_as<DeviationState>(src));
      break;
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax: {
      auto& d = state_as<HeldState>(dst);
      const auto& s = state_as<HeldState>(src);
      if (s.kind == HeldState::kNone) break;
      if (d.kind == HeldState::kNone) {
        copy_held(d, s);
        break;
      }
      Value ts;
      Value td;
      const int c = compare(held_ref(s, ts), held_ref(d, td));
      // Equal values: the earlier event time's, on equal times dst's.
      if ((kind_ == AccumulatorKind::kMin ? c < 0 : c > 0) || (c == 0 && s.time < d.time)) copy_held(d, s);
      break;
    }
    case AccumulatorKind::kFirst:
    case AccumulatorKind::kLast: {
      auto& d = state_as<HeldState>(dst);
      const auto& s = state_as<HeldState>(src);
      if (s.kind == HeldState::kNone) break;
      // On equal times src's readings count as the later arrivals: $first keeps dst's,
      // $last takes src's.
      const bool take_src = d.kind == HeldState::kNone ||
                            (kind_ == AccumulatorKind::kFirst ? s.time < d.time : s.time >= d.time);
      if (take_src) copy_held(d, s);
      break;
    }
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: {
      auto& d = state_as<DDSketch*>(dst);
      const DDSketch* s = state_as<DDSketch*>(src);
      if (s == nullptr || s->empty()) break;
      if (d == nullptr) {
        d = new DDSketch(*s);
      } else {
        d->merge(*s);
      }
      break;
    }
    case AccumulatorKind::kPush:
      merge_push(state_as<PushState>(dst), state_as<PushState>(src), params_->limit);
      break;
    case AccumulatorKind::kAddToSet: {
      auto& d = state_as<SetState>(dst);
      for (const auto& e : state_as<SetState>(src).by_value) {
        add_to_set(d, params_->limit, e.time, e.value, nullptr);
      }
      break;
    }
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      auto& d = state_as<TopEntry*>(dst);
      const TopEntry* s = state_as<TopEntry*>(src);
      if (s == nullptr) break;
      if (d == nullptr) {
        d = new TopEntry(*s);
        break;
      }
      const int c = compare_sort_keys(params_->sort_by, s->keys, d->keys);
      if ((kind_ == AccumulatorKind::kTop ? c < 0 : c > 0) || (c == 0 && s->time < d->time)) *d = *s;
      break;
    }
  }
}

Value Accumulator::result(const std::byte* state) const {
  switch (kind_) {
    case AccumulatorKind::kCount: return Value(*typed<int64_t>(state));
    case AccumulatorKind::kSum: {
      const auto& n = *typed<NumericState>(state);
      if (n.count == 0) return Value(int64_t{0});
      if (n.all_int) return Value(n.int_sum);
      return Value(n.sum + n.compensation);
    }
    case AccumulatorKind::kAvg: {
      const auto& n = *typed<NumericState>(state);
      if (n.count == 0) return Value();
      if (n.all_int) return Value(static_cast<double>(n.int_sum) / static_cast<double>(n.count));
      return Value((n.sum + n.compensation) / static_cast<double>(n.count));
    }
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: {
      // MongoDB: null without numeric values ($stdDevSamp: with fewer than two).
      const auto& d = *typed<DeviationState>(state);
      const int64_t divisor = kind_ == AccumulatorKind::kStdDevPop ? d.count : d.count - 1;
      if (divisor <= 0) return Value();
      return Value(std::sqrt(std::max(0.0, d.m2) / static_cast<double>(divisor)));
    }
    case AccumulatorKind::kMedian: {
      const DDSketch* s = state_as<DDSketch*>(state);
      if (s == nullptr) return Value();
      auto q = s->quantile(0.5);
      return q ? Value(*q) : Value();
    }
    case AccumulatorKind::kPercentile: {
      const DDSketch* s = state_as<DDSketch*>(state);
      Value out = Value::array();
      out.reserve(params_->percentiles.size());
      for (double p : params_->percentiles) {
        auto q = s != nullptr ? s->quantile(p) : std::nullopt;
        out.push_back(q ? Value(*q) : Value());
      }
      return out;
    }
    case AccumulatorKind::kPush: {
      const auto& entries = state_as<PushState>(state);
      Value out = Value::array();
      out.reserve(entries.size());
      for (const auto& e : entries) out.push_back(e.value);
      return out;
    }
    case AccumulatorKind::kAddToSet: {
      const auto& entries = state_as<SetState>(state).by_value;
      std::vector<const TimedValue*> order;
      order.reserve(entries.size());
      for (const auto& e : entries) order.push_back(&e);
      std::sort(order.begin(), order.end(), [](const TimedValue* a, const TimedValue* b) {
        return set_key_less(a->time, a->value, b->time, b->value);
      });
      Value out = Value::array();
      out.reserve(order.size());
      for (const auto* e : order) out.push_back(e->value);
      return out;
    }
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      const TopEntry* e = state_as<TopEntry*>(state);
      return e != nullptr ? e->output : Value();
    }
    default: return typed<HeldState>(state)->value();
  }
}

size_t Accumulator::heap_bytes(const std::byte* state) const noexcept {
  switch (kind_) {
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
    case AccumulatorKind::kFirst:
    case AccumulatorKind::kLast: {
      const auto& h = state_as<HeldState>(state);
      return h.kind == HeldState::kHeap ? sizeof(Value) + value_heap_bytes(*h.heap) : 0;
    }
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: {
      const DDSketch* s = state_as<DDSketch*>(state);
      return s != nullptr ? sizeof(DDSketch) + s->heap_bytes() : 0;
    }
    case AccumulatorKind::kPush: return timed_heap_bytes(state_as<PushState>(state));
    case AccumulatorKind::kAddToSet: return timed_heap_bytes(state_as<SetState>(state).by_value);
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      const TopEntry* e = state_as<TopEntry*>(state);
      if (e == nullptr) return 0;
      size_t bytes = sizeof(TopEntry) + e->keys.capacity() * sizeof(Value) + value_heap_bytes(e->output);
      for (const auto& k : e->keys) bytes += value_heap_bytes(k);
      return bytes;
    }
    default: return 0;
  }
}

Value Accumulator::save(const std::byte* state) const {
  auto pair_list = [](const std::vector<TimedValue>& entries) {
    Value v = Value::array();
    v.reserve(2 * entries.size());
    for (const auto& e : entries) {
      v.push_back(Value(e.time));
      v.push_back(save_value(e.value));
    }
    return v;
  };
  switch (kind_) {
    case AccumulatorKind::kCount: return Value(state_as<int64_t>(state));
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: {
      const auto& n = state_as<NumericState>(state);
      Value v = Value::array();
      v.reserve(5);
      v.push_back(Value(n.count));
      v.push_back(Value(n.int_sum));
      v.push_back(save_double(n.sum));
      v.push_back(save_double(n.compensation));
      v.push_back(Value(n.all_int));
      return v;
    }
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: {
      const auto& d = state_as<DeviationState>(state);
      Value v = Value::array();
      v.reserve(3);
      v.push_back(Value(d.count));
      v.push_back(save_double(d.mean));
      v.push_back(save_double(d.m2));
      return v;
    }
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: {
      const DDSketch* s = state_as<DDSketch*>(state);
      return s != nullptr ? s->save() : Value();
    }
    case AccumulatorKind::kPush: return pair_list(state_as<PushState>(state));
    case AccumulatorKind::kAddToSet: return pair_list(state_as<SetState>(state).by_value);
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      const TopEntry* e = state_as<TopEntry*>(state);
      if (e == nullptr) return Value();
      Value keys = Value::array();
      keys.reserve(e->keys.size());
      for (const auto& k : e->keys) keys.push_back(save_value(k));
      Value v = Value::array();
      v.reserve(3);
      v.push_back(Value(e->time));
      v.push_back(std::move(keys));
      v.push_back(save_value(e->output));
      return v;
    }
    default: {
      const auto& h = state_as<HeldState>(state);
      if (h.kind == HeldState::kNone) return Value();
      Value v = Value::array();
      v.reserve(2);
      v.push_back(Value(h.time));
      v.push_back(h.kind == HeldState::kHeap ? save_value(*h.heap) : save_value(h.value()));
      return v;
    }
  }
}

bool Accumulator::load(std::byte* state, const Value& saved) const {
  // Far from overflowing as it counts on, or when thousands of panes merge.
  constexpr int64_t kMaxCount = INT64_C(1) << 48;
  // [time, value, ...] into entries, times within range and (ordered) never decreasing.
  auto pair_list = [&](std::vector<TimedValue>& entries, bool ordered) {
    if (!saved.is_array() || saved.size() % 2 != 0 || saved.size() / 2 > params_->limit) {
      return false;
    }
    entries.reserve(saved.size() / 2);
    for (size_t i = 0; i < saved.size(); i += 2) {
      TimedValue e{0, Value()};
      if (!load_time(saved.at(i), e.time) || !load_value(saved.at(i + 1), e.value)) return false;
      if (ordered && !entries.empty() && e.time < entries.back().time) return false;
      entries.push_back(std::move(e));
    }
    return true;
  };
  switch (kind_) {
    case AccumulatorKind::kCount: return load_int(saved, 0, kMaxCount, state_as<int64_t>(state));
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: {
      auto& n = state_as<NumericState>(state);
      if (!saved.is_array() || saved.size() != 5 || !load_int(saved.at(0), 0, kMaxCount, n.count) ||
          !saved.at(1).is_int() || !load_double(saved.at(2), n.sum) ||
          !load_double(saved.at(3), n.compensation) || !saved.at(4).is_bool()) {
        return false;
      }
      n.int_sum = saved.at(1).as_int();
      n.all_int = saved.at(4).as_bool();
      return true;
    }
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: {
      auto& d = state_as<DeviationState>(state);
      return saved.is_array() && saved.size() == 3 &&
             load_int(saved.at(0), 0, kMaxCount, d.count) && load_double(saved.at(1), d.mean) &&
             load_double(saved.at(2), d.m2);
    }
    case AccumulatorKind::kMedian:
    case AccumulatorKind::kPercentile: {
      if (saved.is_null()) return true;
      auto& sketch = state_as<DDSketch*>(state);
      sketch = new DDSketch;  // destroy() frees it whatever load() answers
      return sketch->load(saved);
    }
    case AccumulatorKind::kPush: return pair_list(state_as<PushState>(state), true);
    case AccumulatorKind::kAddToSet: {
      auto& set = state_as<SetState>(state);
      if (!pair_list(set.by_value, false)) return false;
      // Distinct values in compare() order (binary search relies on it).
      for (size_t i = 1; i < set.by_value.size(); ++i) {
        if (compare(set.by_value[i - 1].value, set.by_value[i].value) >= 0) return false;
      }
      set_find_last(set);
      return true;
    }
    case AccumulatorKind::kTop:
    case AccumulatorKind::kBottom: {
      if (saved.is_null()) return true;
      const size_t nkeys = params_->sort_by.size();
      if (!saved.is_array() || saved.size() != 3 || !saved.at(1).is_array() ||
          saved.at(1).size() != nkeys) {
        return false;
      }
      auto& held = state_as<TopEntry*>(state);
      held = new TopEntry{std::vector<Value>(nkeys), Value(), 0};
      for (size_t i = 0; i < nkeys; ++i) {
        if (!load_value(saved.at(1).at(i), held->keys[i])) return false;
      }
      return load_time(saved.at(0), held->time) && load_value(saved.at(2), held->output);
    }
    default: {
      if (saved.is_null()) return true;
      TimeMs t = 0;
      Value v;
      if (!saved.is_array() || saved.size() != 2 || !load_time(saved.at(0), t) ||
          !load_value(saved.at(1), v)) {
        return false;
      }
      state_as<HeldState>(state).hold(v, t);
      return true;
    }
  }
}

std::string Accumulator::signature() const {
  std::string s = output_;
  for (const auto& k : kKinds) {
    if (k.kind == kind_) s += ":" + std::string(k.name);
  }
  if (params_) {
    for (double p : params_->percentiles) s += " p" + Value(p).to_json();
    s += " limit" + std::to_string(params_->limit);
    for (const auto& f : params_->sort_by) {
      s += " sort " + f.path.str() + (f.direction > 0 ? "+" : "-");
    }
  }
  return s;
}

GroupState::GroupState(const std::vector<Accumulator>& accs, size_t bytes)
    : accs_(&accs), bytes_(new std::byte[bytes]) {
  for (const auto& a : accs) a.init(bytes_.get() + a.offset());
}

GroupState::~GroupState() { destroy(); }

GroupState& GroupState::operator=(GroupState&& o) noexcept {
  if (this != &o) {
    destroy();
    accs_ = o.accs_;
    bytes_ = std::move(o.bytes_);
  }
  return *this;
}

void GroupState::destroy() noexcept {
  if (!bytes_) return;
  for (const auto& a : *accs_) a.destroy(bytes_.get() + a.offset());
  bytes_.reset();
}

size_t GroupState::block_bytes() const noexcept {
  size_t bytes = 0;
  if (accs_ == nullptr) return 0;
  for (const auto& a : *accs_) bytes = std::max(bytes, a.offset() + a.state_size());
  return bytes;
}

void GroupState::add(const Value& doc, TimeMs t) {
  for (const auto& a : *accs_) a.add(bytes_.get() + a.offset(), doc, t);
}

void GroupState::merge(const GroupState& other) {
  if (!other.valid()) return;
  if (!valid()) {
    *this = other.clone();
    return;
  }
  for (const auto& a : *accs_) a.merge(bytes_.get() + a.offset(), other.bytes_.get() + a.offset());
}

GroupState GroupState::clone() const {
  if (!valid()) return GroupState();
  GroupState copy(*accs_, block_bytes());
  copy.merge(*this);  // merging into fresh states copies them exactly
  return copy;
}

Value GroupState::result(size_t i) const {
  const auto& a = (*accs_)[i];
  return a.result(bytes_.get() + a.offset());
}

Value GroupState::save() const {
  if (!valid()) return Value();
  Value v = Value::array();
  v.reserve(accs_->size());
  for (const auto& a : *accs_) v.push_back(a.save(bytes_.get() + a.offset()));
  return v;
}

bool GroupState::load(const Value& saved) {
  if (!valid() || !saved.is_array() || saved.size() != accs_->size()) return false;
  for (size_t i = 0; i < accs_->size(); ++i) {
    const auto& a = (*accs_)[i];
    if (!a.load(bytes_.get() + a.offset(), saved.at(i))) return false;
  }
  return true;
}

size_t GroupState::memory_bytes() const noexcept {
  if (!valid()) return 0;
  size_t bytes = block_bytes();
  for (const auto& a : *accs_) bytes += a.heap_bytes(bytes_.get() + a.offset());
  return bytes;
}

}  // namespace weir::pipeline
