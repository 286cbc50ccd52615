// The $validate stage (Atlas Stream Processing shape):
//   {"$validate": {"validator": {"$jsonSchema": {...}}, "validationAction": "dlq"}}
// A record that fails the schema goes to the dead-letter topic ("dlq", the default; the
// reason is "validation" and the detail names the rule and the data location) or is dropped
// ("discard").
#pragma once

#include <memory>

#include "pipeline/stage_factory.hpp"

namespace weir::pipeline {

const ComponentInfo& validate_info();
// spec: the value of the "$validate" key.
std::unique_ptr<Operator> make_validate(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline
