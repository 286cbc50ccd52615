// $group accumulators: specification (immutable) and per-group state (saved in checkpoints).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"
#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

enum class AccumulatorKind : uint8_t { kCount, kSum, kAvg, kMin, kMax, kFirst, kLast };

// The running state of one accumulator in one group. One 40-byte struct serves every kind,
// so a group's state is one flat array: a window of 100,000 groups holds 100,000 of these
// arrays. $count, $sum and $avg use the numeric part; $min, $max, $first and $last the held
// value, which keeps numbers, booleans and null inline and anything else (strings,
// documents) in one heap Value.
class AccumulatorState {
 public:
  AccumulatorState() noexcept : num_{} {}
  ~AccumulatorState() { release(); }
  AccumulatorState(const AccumulatorState& o) : num_{} { *this = o; }
  AccumulatorState(AccumulatorState&& o) noexcept : num_{} { *this = std::move(o); }
  AccumulatorState& operator=(const AccumulatorState& o);
  AccumulatorState& operator=(AccumulatorState&& o) noexcept;

  // $count, $sum, $avg
  struct Numeric {
    int64_t count;    // values taken ($count: readings; $sum/$avg: numeric values)
    int64_t int_sum;  // exact sum while every value is an integer
    double sum;       // Neumaier-compensated sum of all numeric values
    double compensation;
  };
  Numeric& numeric() noexcept { return num_; }
  const Numeric& numeric() const noexcept { return num_; }
  bool all_int() const noexcept { return all_int_; }  // every value an integer, no overflow
  void set_all_int(bool b) noexcept { all_int_ = b; }

  // $min, $max, $first, $last
  bool has_value() const noexcept { return kind_ != Held::kNone; }
  TimeMs time() const noexcept { return held_.time; }  // first/last: event time of the value
  void hold(const Value& v, TimeMs t);
  Value value() const;                // null when nothing is held
  // The held value when it lives on the heap (not a number, boolean or null), else null.
  const Value* heap_value() const noexcept { return kind_ == Held::kHeap ? held_.heap : nullptr; }

 private:
  enum class Held : uint8_t { kNone, kNull, kBool, kInt, kDouble, kHeap };
  struct HeldValue {
    TimeMs time;
    union {
      int64_t i;
      double d;
      Value* heap;
    };
  };
  void release() noexcept;

  union {
    Numeric num_;
    HeldValue held_;
  };
  Held kind_ = Held::kNone;
  bool all_int_ = true;
};
static_assert(sizeof(AccumulatorState) <= 40);

class Accumulator {
 public:
  // Compiles {"$sum": expr} etc. Throws ConfigError naming the node's path.
  static Accumulator compile(const std::string& output, const config::Node& node);

  const std::string& output() const noexcept { return output_; }
  AccumulatorKind kind() const noexcept { return kind_; }

  // Adds one reading (doc at event time t, arriving after everything already added).
  void add(AccumulatorState& state, const Value& doc, TimeMs t) const;
  // The result as MongoDB would give it.
  Value result(const AccumulatorState& state) const;

 private:
  Accumulator(std::string output, AccumulatorKind kind, std::unique_ptr<Expression> input)
      : output_(std::move(output)), kind_(kind), input_(std::move(input)) {}
  std::string output_;
  AccumulatorKind kind_;
  std::shared_ptr<const Expression> input_;  // null for $count
};

}  // namespace weir::pipeline
