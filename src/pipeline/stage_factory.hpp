// What a stage factory gets besides its own config node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/node.hpp"
#include "weir/component.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline {

struct StageBuildContext {
  std::string pipeline;  // the pipeline's name
  size_t index = 0;      // position of the stage in the pipeline
  std::string emit_connection;  // the connectionName of the pipeline's $emit
  // Resolves a connectionName (config value at path) to the index StageContext::publish
  // takes; throws config::ConfigError naming path when there is no such connection.
  // Unset (tests): every name is connection 0.
  std::function<uint32_t(const std::string& name, const std::string& path)> connection;
};

// Every built-in stage provides one of these (see engine/registry.cpp).
struct StageFactory {
  const ComponentInfo& (*info)();
  std::unique_ptr<Operator> (*make)(const config::Node& spec, const StageBuildContext& ctx);
};

}  // namespace weir::pipeline
