// $tumblingWindow: fixed, non-overlapping windows with a $group inside (see TimeWindow).
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

const ComponentInfo& tumbling_window_info();
std::unique_ptr<Operator> make_tumbling_window(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
