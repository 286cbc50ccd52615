// The $addFields stage (alias $set): {"path": expression, ...} sets each field to the value
// of its expression, creating nested objects for dotted paths. All expressions see the
// record as it came in; a missing result ("$nope", "$$REMOVE") removes the field.
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

// Its keys are the user's field paths, so the option table is empty.
const ComponentInfo& add_fields_info();
// The same stage under its alias "$set".
const ComponentInfo& set_info();
// spec: the value of the "$addFields" / "$set" key.
std::unique_ptr<Operator> make_add_fields(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
