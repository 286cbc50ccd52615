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
  kCount, kSum, kAvg, kMin, kMax, kFirst, kLast, kStdDevPop, kStdDevSamp,
  kMedian, kPercentile, kPush, kAddToSet, kTop, kBottom
};

// The compiled options of the accumulators that have some ($percentile's p, $push's limit,
// $top's sortBy, ...); defined in accumulator.cpp.
struct AccumulatorParams;

class Accumulator {
 public:
  // The default and the largest `limit` of $push and $addToSet.
  static constexpr int64_t kDefaultLimit = 1000;
  static constexpr int64_t kMaxLimit = 1000000;

  // Compiles {"$sum": expr} etc. Throws ConfigError naming the node's path.
  static Accumulator compile(const std::string& output, const config::Node& node);

  const std::string& output() const noexcept { return output_; }
  AccumulatorKind kind() const noexcept { return kind_; }

  // The state of one group: state_size() bytes at offset() of the group's state block
  // (GroupState), sized for the kind: $count 8 bytes, $sum and $avg 40, $min, $max, $first
  // and $last 24 (numbers, booleans and null inline; strings and documents in one heap
  // Value), $stdDevPop and $stdDevSamp 24 (Welford's running mean and squared deviations),
  // $median and $percentile 8 (a pointer to a DDSketch, null until the first value), $push
  // 24 (a vector of (time, value)), $addToSet 32 (a vector sorted by value and the position
  // of the entry that sorts last by (time, value)), $top and $bottom 8 (a pointer to the
  // winning reading's sort keys, output and time, null until the first reading).
  // Every size is a multiple of 8.
  size_t state_size() const noexcept;  // a multiple of 8, so the next state stays aligned
  size_t offset() const noexcept { return offset_; }
  void set_offset(size_t offset) noexcept { offset_ = offset; }
  void init(std::byte* state) const noexcept;
  void destroy(std::byte* state) const noexcept;
  // Adds one reading (doc at event time t, arriving after everything already added).
  void add(std::byte* state, const Value& doc, TimeMs t) const;
  // dst := the state of dst's readings and src's readings together (both states of this
  // accumulator). For readings of distinct event times the result is what adding them all
  // to one state gives; readings of equal time count as if dst's had arrived first.
  // (Values equal under compare() but of different types, 1 and 1.0: $min, $max and
  // $addToSet keep the one of the earliest event time, so add() and merge() agree.)
  // dst may be src (the readings then count twice).
  void merge(std::byte* dst, const std::byte* src) const;
  // The result as MongoDB would give it.
  Value result(const std::byte* state) const;
  // Heap memory the state owns beyond its state_size() bytes (approximate: vector
  // capacities, heap Values with their strings and members).
  size_t heap_bytes(const std::byte* state) const noexcept;
  // The state for a checkpoint, exactly (doubles and held values as window_state.hpp
  // encodes them): $count n; $sum and $avg [count, intSum, sum, compensation, allInt];
  // $stdDevPop and $stdDevSamp [count, mean, m2]; $min, $max, $first and $last null or
  // [time, value]; $median and $percentile null or the sketch (DDSketch::save); $push and
  // $addToSet [time, value, time, value, ...] in their own order; $top and $bottom null or
  // [time, [sort keys], output].
  Value save(const std::byte* state) const;
  // Restores what save() wrote into a state just init()ed. False for a value that does not
  // fit (another kind's, a larger limit's, garbage); the state is then still safe to
  // destroy() but holds anything.
  bool load(std::byte* state, const Value& saved) const;
  // The kind, output and options (not the input expression): what must stay the same for
  // a saved state to mean the same thing.
  std::string signature() const;

 private:
  size_t raw_state_size() const noexcept;
  Accumulator(std::string output, AccumulatorKind kind, std::unique_ptr<Expression> input,
              std::shared_ptr<const AccumulatorParams> params = nullptr)
      : output_(std::move(output)), kind_(kind), input_(std::move(input)), params_(std::move(params)) {}
  void add_top(std::byte* state, const Value& doc, TimeMs t) const;
  // $median, $percentile, $push, $addToSet: v evaluated (possibly into scratch).
  void add_collected(std::byte* state, const Value& v, Value& scratch, TimeMs t) const;
  std::string output_;
  AccumulatorKind kind_;
  std::shared_ptr<const Expression> input_;  // null for $count; $top/$bottom: the output
  std::shared_ptr<const AccumulatorParams> params_;  // null but for the kinds with options
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

  // False for a default-constructed or moved-from state.
  bool valid() const noexcept { return bytes_ != nullptr; }
  void add(const Value& doc, TimeMs t);
  // this := the state of this state's readings and other's (states of the same $group),
  // each accumulator merged as Accumulator::merge. An invalid other changes nothing; an
  // invalid this becomes a copy of other.
  void merge(const GroupState& other);
  // A new, independent state equal to this one (invalid if this is).
  GroupState clone() const;
  Value result(size_t i) const;
  // The block plus the heap memory its accumulators own.
  size_t memory_bytes() const noexcept;
  // Every accumulator's Accumulator::save(), in order (null for an invalid state).
  Value save() const;
  // Restores save()'s array into this valid, fresh state; false when it does not fit (the
  // caller then drops the state).
  bool load(const Value& saved);

 private:
  size_t block_bytes() const noexcept;
  void destroy() noexcept;
  const std::vector<Accumulator>* accs_ = nullptr;
  std::unique_ptr<std::byte[]> bytes_;
};

}  // namespace weir::pipeline
