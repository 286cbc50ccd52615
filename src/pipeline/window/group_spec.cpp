#include "pipeline/window/group_spec.hpp"

namespace weir::pipeline {

GroupSpec GroupSpec::compile(const config::Node& node) {
  node.expect_object();
  GroupSpec g;
  g.id_ = compile_expression(node.at("_id"));
  for (auto it = node.json().begin(); it != node.json().end(); ++it) {
    if (it.key() == "_id") continue;
    config::Node acc = node.at(it.key());
    if (it.key().empty() || it.key()[0] == '$' || it.key().find('.') != std::string::npos) {
      acc.fail("an output field name without \"$\" or \".\" (\"" + it.key() + "\" is not one)");
    }
    if (it.key() == "_stream_meta") acc.fail("an output name other than the reserved \"_stream_meta\"");
    g.accumulators_.push_back(Accumulator::compile(it.key(), acc));
  }
  return g;
}

}  // namespace weir::pipeline
