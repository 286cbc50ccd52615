// The $group stage inside a window: the _id expression and the accumulators.
#pragma once

#include <memory>
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
  const std::vector<Accumulator>& accumulators() const noexcept { return accumulators_; }

 private:
  std::shared_ptr<const Expression> id_;
  std::vector<Accumulator> accumulators_;
};

}  // namespace weir::pipeline
