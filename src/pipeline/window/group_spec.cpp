#include "pipeline/window/group_spec.hpp"

namespace weir::pipeline {

GroupSpec GroupSpec::compile(const config::Node& node) {
  node.expect_object();
  GroupSpec g;
  config::Node id = node.at("_id");
  g.id_ = compile_expression(id);
  if (id.is_string()) {
    std::string text = id.as_string();
    if (text.size() > 1 && text[0] == '$' && text[1] != '$') g.id_path_ = text.substr(1);
  } else if (id.is_object()) {
    bool document = true;
    for (auto it = id.json().begin(); it != id.json().end(); ++it) {
      document = document && !it.key().empty() && it.key()[0] != '$';
    }
    if (document) {
      for (auto it = id.json().begin(); it != id.json().end(); ++it) g.id_members_.push_back(it.key());
    }
  }
  for (auto it = node.json().begin(); it != node.json().end(); ++it) {
    if (it.key() == "_id") continue;
    config::Node acc = node.at(it.key());
    if (it.key().empty() || it.key()[0] == '$' || it.key().find('.') != std::string::npos) {
      acc.fail("an output field name without \"$\" or \".\" (\"" + it.key() + "\" is not one)");
    }
    if (it.key() == "_stream_meta") acc.fail("an output name other than the reserved \"_stream_meta\"");
    g.accumulators_.push_back(Accumulator::compile(it.key(), acc));
    g.accumulators_.back().set_offset(g.state_bytes_);
    g.state_bytes_ += g.accumulators_.back().state_size();
  }
  return g;
}

bool GroupSpec::key(const Value& doc, Value& scratch, const Value*& out, std::string& missing) const {
  const Value& v = id_->eval(doc, scratch);
  out = &v;
  if (is_missing(v)) {
    missing = id_path_.empty() ? "_id" : id_path_;
    return false;
  }
  if (!id_members_.empty() && v.is_object() && v.size() < id_members_.size()) {
    for (const auto& m : id_members_) {
      const Value* member = v.find(m);
      if (member == nullptr || is_missing(*member)) {
        missing = "_id." + m;
        return false;
      }
    }
  }
  return true;
}

std::string GroupSpec::signature() const {
  std::string s;
  for (const auto& a : accumulators_) s += a.signature() + "|";
  return s;
}

}  // namespace weir::pipeline
