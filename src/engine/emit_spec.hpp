// $emit: where a pipeline's results are published; "{field}" in the topic is replaced by
// that field of the output document.
#pragma once

#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/emit/topic_template.hpp"
#include "weir/component.hpp"
#include "weir/value.hpp"

namespace weir::engine {

using pipeline::TopicTemplate;

struct EmitSpec {
  std::string connection;
  TopicTemplate topic;
  int qos = 1;
  bool retain = false;
  static EmitSpec parse(const config::Node& spec);
};

const ComponentInfo& emit_info();

}  // namespace weir::engine
