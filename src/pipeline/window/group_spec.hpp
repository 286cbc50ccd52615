// The $group stage inside a window: the _id expression and the accumulators.
#pragma once

#include <memory>
#include <string>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"
#include "pipeline/window/accumulator.hpp"

namespace weir::pipeline {

class GroupSpec {
 public:
  // Compiles {"_id": expr, "out": {"$acc": expr}, ...}.
  static GroupSpec compile(const config::Node& node);

  const Expression& id() const noexcept { return *id_; }
  // Evaluates _id for doc. False when a field it names is missing from the reading (such a
  // reading has no group: it goes to the dead-letter topic); missing names the field.
  bool key(const Value& doc, Value& scratch, const Value*& out, std::string& missing) const;
  const std::vector<Accumulator>& accumulators() const noexcept { return accumulators_; }
  // A fresh state for one group: every accumulator's state in one block.
  GroupState new_state() const { return GroupState(accumulators_, state_bytes_); }
  size_t state_bytes() const noexcept { return state_bytes_; }
  // The accumulators' signatures (Accumulator::signature), for telling saved state of
  // another $group apart.
  std::string signature() const;

 private:
  std::shared_ptr<const Expression> id_;
  std::string id_path_;                   // "_id": "$a.b" -> "a.b"
  std::vector<std::string> id_members_;   // "_id": {"k": "$f", ...} -> the member names
  std::vector<Accumulator> accumulators_;
  size_t state_bytes_ = 0;  // sum of the accumulators' state sizes (each a multiple of 8)
};

}  // namespace weir::pipeline
