// $hoppingWindow: windows of `interval` starting every `hopSize`, overlapping when the hop is
// shorter, with a $group inside (see TimeWindow: one pane per reading, not one window).
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

const ComponentInfo& hopping_window_info();
std::unique_ptr<Operator> make_hopping_window(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
