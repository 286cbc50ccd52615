// What a stage factory gets besides its own config node.
#pragma once

#include <memory>
#include <string>

#include "config/node.hpp"
#include "weir/component.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

struct StageBuildContext {
  std::string pipeline;  // the pipeline's name
  size_t index = 0;      // position of the stage in the pipeline
};

// Every built-in stage provides one of these (see engine/registry.cpp).
struct StageFactory {
  const ComponentInfo& (*info)();
  std::unique_ptr<Operator> (*make)(const config::Node& spec, const StageBuildContext& ctx);
};

}  // namespace weir::pipeline
