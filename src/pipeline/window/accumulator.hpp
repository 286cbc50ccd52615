// $group accumulators: specification (immutable) and per-group state (saved in checkpoints).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"
#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

enum class AccumulatorKind : uint8_t {
  kCount, kSum, kAvg, kMin, kMax, kFirst, kLast, kStdDevPop, kStdDevSamp
};

class Accumulator {
 public:
  // Compiles {"$sum": expr} etc. Throws ConfigError naming the node's path.
  static Accumulator compile(const std::string& output, const config::Node& node);

  const std::string& output() const noexcept { return output_; }
  AccumulatorKind kind() const noexcept { return kind_; }

  // The state of one group: state_size() bytes at offset() of the group's state block
  // (GroupState), sized for the kind: $count 8 bytes, $sum and $avg 40, $min, $max, $first
  // and $last 24 (numbers, booleans and null inline; strings and documents in one heap
  // Value), $stdDevPop and $stdDevSamp 24 (Welford's running mean and squared deviations).
  size_t state_size() const noexcept;
  size_t offset() const noexcept { return offset_; }
  void set_offset(size_t offset) noexcept { offset_ = offset; }
  void init(std::byte* state) const noexcept;
  void destroy(std::byte* state) const noexcept;
  // Adds one reading (doc at event time t, arriving after everything already added).
  void add(std::byte* state, const Value& doc, TimeMs t) const;
  // The result as MongoDB would give it.
  Value result(const std::byte* state) const;

 private:
  Accumulator(std::string output, AccumulatorKind kind, std::unique_ptr<Expression> input)
      : output_(std::move(output)), kind_(kind), input_(std::move(input)) {}
  std::string output_;
  AccumulatorKind kind_;
  std::shared_ptr<const Expression> input_;  // null for $count
  size_t offset_ = 0;
};

// The running state of every accumulator of a $group for one group, in one allocation:
// with the README's six accumulators 160 bytes. Windows hold one per group and key, so
// 100,000 devices in a window cost 100,000 of these.
class GroupState {
 public:
  GroupState() = default;
  // `accs` must outlive the state (the $group's own list) and have its offsets set.
  GroupState(const std::vector<Accumulator>& accs, size_t bytes);
  ~GroupState();
  GroupState(GroupState&& o) noexcept : accs_(o.accs_), bytes_(std::move(o.bytes_)) {}
  GroupState& operator=(GroupState&& o) noexcept;
  GroupState(const GroupState&) = delete;
  GroupState& operator=(const GroupState&) = delete;

  void add(const Value& doc, TimeMs t);
  Value result(size_t i) const;

 private:
  void destroy() noexcept;
  const std::vector<Accumulator>* accs_ = nullptr;
  std::unique_ptr<std::byte[]> bytes_;
};

}  // namespace weir::pipeline
