// The $match stage: passes the records its query matches and drops the others.
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

// $match takes a query whose keys are field names, so its option table is empty.
const ComponentInfo& match_info();
// spec: the value of the "$match" key (the query object).
std::unique_ptr<Operator> make_match(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
