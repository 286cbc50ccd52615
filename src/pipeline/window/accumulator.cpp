#include "pipeline/window/accumulator.hpp"

#include <cmath>

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
  double d = v.as_double();
  // Neumaier's compensated summation: stable over long windows.
  double t = s.sum + d;
  if (std::fabs(s.sum) >= std::fabs(d)) {
    s.compensation += (s.sum - t) + d;
  } else {
    s.compensation += (d - t) + s.sum;
  }
  s.sum = t;
  if (s.all_int) {
    if (v.is_int()) {
      int64_t r;
      if (__builtin_add_overflow(s.int_sum, v.as_int(), &r)) {
        s.all_int = false;
      } else {
        s.int_sum = r;
      }
    } else {
      s.all_int = false;
    }
  }
  ++s.count;
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

void Accumulator::add(AccumulatorState& s, const Value& doc, TimeMs t) const {
  if (kind_ == AccumulatorKind::kCount) {
    ++s.count;
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
      if (!s.has_value) {
        s.value = v;
        s.has_value = true;
      } else {
        int c = compare(v, s.value);
        if (kind_ == AccumulatorKind::kMin ? c < 0 : c > 0) s.value = v;
      }
      break;
    case AccumulatorKind::kFirst:
      // Earliest event time wins; on a tie the earlier arrival stays.
      if (!s.has_value || t < s.time) {
        s.value = v;
        s.time = t;
        s.has_value = true;
      }
      break;
    case AccumulatorKind::kLast:
      // Latest event time wins; on a tie the later arrival replaces.
      if (!s.has_value || t >= s.time) {
        s.value = v;
        s.time = t;
        s.has_value = true;
      }
      break;
    case AccumulatorKind::kCount: break;
  }
}

Value Accumulator::result(const AccumulatorState& s) const {
  switch (kind_) {
    case AccumulatorKind::kCount: return Value(s.count);
    case AccumulatorKind::kSum:
      if (s.count == 0) return Value(int64_t{0});
      if (s.all_int) return Value(s.int_sum);
      return Value(s.sum + s.compensation);
    case AccumulatorKind::kAvg:
      if (s.count == 0) return Value();
      if (s.all_int) return Value(static_cast<double>(s.int_sum) / static_cast<double>(s.count));
      return Value((s.sum + s.compensation) / static_cast<double>(s.count));
    case AccumulatorKind::kMin:
    case AccumulatorKind::kMax:
    case AccumulatorKind::kFirst:
    case AccumulatorKind::kLast: return s.has_value ? s.value : Value();
  }
  return Value();
}

}  // namespace weir::pipeline
