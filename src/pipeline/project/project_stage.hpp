// The $project stage. Either an inclusion ({"a": 1, "b.c": true, "x": <expression>}: only
// those fields, plus computed ones, plus _id unless {"_id": 0}) or an exclusion
// ({"a": 0, "b.c": false}: everything else). Mixing the two (except for _id) is a
// configuration error.
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

// Its keys are the user's field paths, so the option table is empty.
const ComponentInfo& project_info();
// spec: the value of the "$project" key.
std::unique_ptr<Operator> make_project(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
