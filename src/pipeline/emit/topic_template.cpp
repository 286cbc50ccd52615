#include "pipeline/emit/topic_template.hpp"

namespace weir::pipeline {

TopicTemplate TopicTemplate::parse(const config::Node& node) {
  std::string text = node.as_nonempty_string();
  TopicTemplate t;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find('{', pos);
    if (open == std::string::npos) {
      t.parts_.push_back({text.substr(pos), FieldPath(), false});
      break;
    }
    if (open > pos) t.parts_.push_back({text.substr(pos, open - pos), FieldPath(), false});
    size_t close = text.find('}', open);
    if (close == std::string::npos) node.fail("a topic whose \"{\" is closed by \"}\"");
    std::string field = text.substr(open + 1, close - open - 1);
    if (field.empty() || field.find_first_of("{/+#") != std::string::npos) {
      node.fail("a topic whose {field} names a field (got \"{" + field + "}\")");
    }
    t.parts_.push_back({std::string(), FieldPath(field), true});
    ++t.fields_;
    pos = close + 1;
  }
  for (const auto& p : t.parts_) {
    if (!p.is_field && p.literal.find_first_of("+#") != std::string::npos) {
      node.fail("a topic without the wildcards + and #");
    }
  }
  return t;
}

void TopicTemplate::render(const Value& doc, std::string& out) const {
  out.clear();
  for (const auto& p : parts_) {
    if (!p.is_field) {
      out += p.literal;
      continue;
    }
    const Value* v = doc.lookup(p.field);
    size_t start = out.size();
    if (v == nullptr) {
      out += "null";
    } else if (v->is_string()) {
      out += v->as_string();
    } else {
      v->append_json(out);
    }
    for (size_t i = start; i < out.size(); ++i) {
      if (out[i] == '+' || out[i] == '#' || out[i] == '\0') out[i] = '_';
    }
  }
}

}  // namespace weir::pipeline
