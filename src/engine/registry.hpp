// The built-in stages. A new stage is one folder under src/pipeline plus one line here.
#pragma once

#include <span>
#include <string_view>

#include "pipeline/stage_factory.hpp"

namespace weir::engine {

struct RegisteredStage {
  std::string_view name;
  pipeline::StageFactory factory;
};

std::span<const RegisteredStage> builtin_stages();
const RegisteredStage* find_stage(std::string_view name);

}  // namespace weir::engine
