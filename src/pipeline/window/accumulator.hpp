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

// The running state of one accumulator in one group. One struct serves every kind so a
// group's state is a flat array.
struct AccumulatorState {
  int64_t count = 0;        // values taken ($count: readings; $sum/$avg: numeric values)
  int64_t int_sum = 0;      // exact sum while every value is an integer
  double sum = 0.0;         // Neumaier-compensated sum of all numeric values
  double compensation = 0.0;
  bool all_int = true;      // every numeric value so far was an integer and int_sum did not overflow
  bool has_value = false;   // min/max/first/last hold a value
  TimeMs time = 0;          // first/last: event time of value
  Value value;              // min/max/first/last
};

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
