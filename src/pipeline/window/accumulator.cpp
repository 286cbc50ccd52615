#include "pipeline/window/accumulator.hpp"

#include <algorithm>
#include <cmath>
#include <new>

namespace weir::pipeline {

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
    {"$stdDevSamp", AccumulatorKind::kStdDevSamp},
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

}  // namespace

Accumulator Accumulator::compile(const std::string& output, const config::Node& node) {
  std::string op = node.single_operator_key("accumulator");
  for (const auto& k : kKinds) {
    if (k.name != op) continue;
    config::Node arg = node.at(op);
    if (k.kind == AccumulatorKind::kCount) {
      if (!arg.is_object() || arg.size() != 0) arg.fail("{} ($count takes no argument)");
      return Accumulator(output, k.kind, nullptr);
    }
    return Accumulator(output, k.kind, compile_expression(arg));
  }
  std::string list;
  for (const auto& k : kKinds) list += (list.empty() ? "" : ", ") + std::string(k.name);
  throw config::ConfigError(node.path() + "/" + config::pointer_escape(op),
                            "unknown accumulator \"" + op + "\", expected one of " + list);
}

size_t Accumulator::state_size() const noexcept {
  switch (kind_) {
    case AccumulatorKind::kCount: return sizeof(int64_t);
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: return sizeof(NumericState);
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: return sizeof(DeviationState);
    default: return sizeof(HeldState);
  }
}

// The states are plain bytes of the group's block; each kind's struct is created in place
// (placement new) and, for the held kinds, destroyed by releasing its heap value.
void Accumulator::init(std::byte* state) const noexcept {
  switch (kind_) {
    case AccumulatorKind::kCount: new (state) int64_t{0}; break;
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg: new (state) NumericState{0, 0, 0.0, 0.0, true}; break;
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: new (state) DeviationState{0, 0.0, 0.0}; break;
    default: {
      auto* h = new (state) HeldState;
      h->time = 0;
      h->i = 0;
      h->kind = HeldState::kNone;
    }
  }
}

void Accumulator::destroy(std::byte* state) const noexcept {
  if (!held_kind(kind_)) return;
  auto* h = std::launder(reinterpret_cast<HeldState*>(state));
  if (h->kind == HeldState::kHeap) delete h->heap;
  h->kind = HeldState::kNone;
}

void Accumulator::add(std::byte* state, const Value& doc, TimeMs t) const {
  if (kind_ == AccumulatorKind::kCount) {
    ++*std::launder(reinterpret_cast<int64_t*>(state));
    return;
  }
  Value scratch;
  const Value& v = input_->eval(doc, scratch);
  if (kind_ == AccumulatorKind::kSum || kind_ == AccumulatorKind::kAvg) {
    if (v.is_number()) add_number(*std::launder(reinterpret_cast<NumericState*>(state)), v);
    return;
  }
  if (deviation_kind(kind_)) {
    // Non-numeric values are ignored, as in MongoDB; so are NaN and infinities, which
    // would turn the whole window's deviation into NaN.
    if (v.is_number() && std::isfinite(v.as_double())) {
      std::launder(reinterpret_cast<DeviationState*>(state))->add(v.as_double());
    }
    return;
  }
  auto& h = *std::launder(reinterpret_cast<HeldState*>(state));
  switch (kind_) {
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
      if (v.is_null()) break;  // null and missing are ignored, as in MongoDB
      if (h.kind == HeldState::kNone) {
        h.hold(v, t);
      } else {
        int c = h.kind == HeldState::kHeap ? compare(v, *h.heap) : compare(v, h.value());
        if (kind_ == AccumulatorKind::kMin ? c < 0 : c > 0) h.hold(v, t);
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

Value Accumulator::result(const std::byte* state) const {
  switch (kind_) {
    case AccumulatorKind::kCount: return Value(*std::launder(reinterpret_cast<const int64_t*>(state)));
    case AccumulatorKind::kSum: {
      const auto& n = *std::launder(reinterpret_cast<const NumericState*>(state));
      if (n.count == 0) return Value(int64_t{0});
      if (n.all_int) return Value(n.int_sum);
      return Value(n.sum + n.compensation);
    }
    case AccumulatorKind::kAvg: {
      const auto& n = *std::launder(reinterpret_cast<const NumericState*>(state));
      if (n.count == 0) return Value();
      if (n.all_int) return Value(static_cast<double>(n.int_sum) / static_cast<double>(n.count));
      return Value((n.sum + n.compensation) / static_cast<double>(n.count));
    }
    case AccumulatorKind::kStdDevPop:
    case AccumulatorKind::kStdDevSamp: {
      // MongoDB: null without numeric values ($stdDevSamp: with fewer than two).
      const auto& d = *std::launder(reinterpret_cast<const DeviationState*>(state));
      const int64_t divisor = kind_ == AccumulatorKind::kStdDevPop ? d.count : d.count - 1;
      if (divisor <= 0) return Value();
      return Value(std::sqrt(std::max(0.0, d.m2) / static_cast<double>(divisor)));
    }
    default: return std::launder(reinterpret_cast<const HeldState*>(state))->value();
  }
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

void GroupState::add(const Value& doc, TimeMs t) {
  for (const auto& a : *accs_) a.add(bytes_.get() + a.offset(), doc, t);
}

Value GroupState::result(size_t i) const {
  const auto& a = (*accs_)[i];
  return a.result(bytes_.get() + a.offset());
}

}  // namespace weir::pipeline
