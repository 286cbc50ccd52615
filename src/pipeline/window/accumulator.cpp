#include "pipeline/window/accumulator.hpp"

#include <cmath>
#include <cstring>

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
    {"$last", AccumulatorKind::kLast},
};

void add_number(AccumulatorState& s, const Value& v) {
  auto& n = s.numeric();
  double d = v.as_double();
  // Neumaier's compensated summation: stable over long windows.
  double t = n.sum + d;
  if (std::fabs(n.sum) >= std::fabs(d)) {
    n.compensation += (n.sum - t) + d;
  } else {
    n.compensation += (d - t) + n.sum;
  }
  n.sum = t;
  if (s.all_int()) {
    if (v.is_int()) {
      int64_t r;
      if (__builtin_add_overflow(n.int_sum, v.as_int(), &r)) {
        s.set_all_int(false);
      } else {
        n.int_sum = r;
      }
    } else {
      s.set_all_int(false);
    }
  }
  ++n.count;
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

void AccumulatorState::release() noexcept {
  if (kind_ == Held::kHeap) delete held_.heap;
  kind_ = Held::kNone;
}

AccumulatorState& AccumulatorState::operator=(const AccumulatorState& o) {
  if (this == &o) return *this;
  release();
  if (o.kind_ == Held::kHeap) {
    held_.time = o.held_.time;
    held_.heap = new Value(*o.held_.heap);
  } else {
    std::memcpy(&num_, &o.num_, sizeof num_);  // whichever member is in use
  }
  kind_ = o.kind_;
  all_int_ = o.all_int_;
  return *this;
}

AccumulatorState& AccumulatorState::operator=(AccumulatorState&& o) noexcept {
  if (this == &o) return *this;
  release();
  std::memcpy(&num_, &o.num_, sizeof num_);  // whichever member; a heap pointer changes owner
  kind_ = o.kind_;
  all_int_ = o.all_int_;
  o.kind_ = Held::kNone;
  return *this;
}

void AccumulatorState::hold(const Value& v, TimeMs t) {
  if (v.is_int() || v.is_double() || v.is_bool() || v.is_null()) {
    release();
    if (v.is_int()) {
      held_.i = v.as_int();
      kind_ = Held::kInt;
    } else if (v.is_double()) {
      held_.d = v.as_double();
      kind_ = Held::kDouble;
    } else if (v.is_bool()) {
      held_.i = v.as_bool() ? 1 : 0;
      kind_ = Held::kBool;
    } else {
      kind_ = Held::kNull;
    }
  } else if (kind_ == Held::kHeap) {
    *held_.heap = v;
  } else {
    held_.heap = new Value(v);
    kind_ = Held::kHeap;
  }
  held_.time = t;
}

Value AccumulatorState::value() const {
  switch (kind_) {
    case Held::kNone:
    case Held::kNull: return Value();
    case Held::kBool: return Value(held_.i != 0);
    case Held::kInt: return Value(held_.i);
    case Held::kDouble: return Value(held_.d);
    case Held::kHeap: return *held_.heap;
  }
  return Value();
}

void Accumulator::add(AccumulatorState& s, const Value& doc, TimeMs t) const {
  if (kind_ == AccumulatorKind::kCount) {
    ++s.numeric().count;
    return;
  }
  Value scratch;
  const Value& v = input_->eval(doc, scratch);
  switch (kind_) {
    case AccumulatorKind::kSum:
    case AccumulatorKind::kAvg:
      if (v.is_number()) add_number(s, v);
      break;
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
      if (v.is_null()) break;  // null and missing are ignored, as in MongoDB
      if (!s.has_value()) {
        s.hold(v, t);
      } else {
        const Value* heap = s.heap_value();
        int c = heap != nullptr ? compare(v, *heap) : compare(v, s.value());
        if (kind_ == AccumulatorKind::kMin ? c < 0 : c > 0) s.hold(v, t);
      }
      break;
    case AccumulatorKind::kFirst:
      // Earliest event time wins; on a tie the earlier arrival stays.
      if (!s.has_value() || t < s.time()) s.hold(v, t);
      break;
    case AccumulatorKind::kLast:
      // Latest event time wins; on a tie the later arrival replaces.
      if (!s.has_value() || t >= s.time()) s.hold(v, t);
      break;
    case AccumulatorKind::kCount: break;
  }
}

Value Accumulator::result(const AccumulatorState& s) const {
  const auto& n = s.numeric();
  switch (kind_) {
    case AccumulatorKind::kCount: return Value(n.count);
    case AccumulatorKind::kSum:
      if (n.count == 0) return Value(int64_t{0});
      if (s.all_int()) return Value(n.int_sum);
      return Value(n.sum + n.compensation);
    case AccumulatorKind::kAvg:
      if (n.count == 0) return Value();
      if (s.all_int()) return Value(static_cast<double>(n.int_sum) / static_cast<double>(n.count));
      return Value((n.sum + n.compensation) / static_cast<double>(n.count));
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
    case AccumulatorKind::kFirst:
    case AccumulatorKind::kLast: return s.value();
  }
  return Value();
}

}  // namespace weir::pipeline
