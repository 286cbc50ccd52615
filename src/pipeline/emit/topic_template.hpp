// A topic with "{field}" parts, rendered per output document ($emit, $detect's alerts).
#pragma once

#include <string>
#include <vector>

#include "config/node.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

class TopicTemplate {
 public:
  // Throws ConfigError (at node's path) for an unterminated "{" or an empty field name.
  static TopicTemplate parse(const config::Node& node);
  // Renders the topic for one output. Missing fields render as "null"; MQTT wildcards in
  // field values are replaced by "_" so the topic stays publishable.
  void render(const Value& doc, std::string& out) const;
  bool has_fields() const noexcept { return fields_ > 0; }

 private:
  struct Part {
    std::string literal;
    FieldPath field;
    bool is_field = false;
  };
  std::vector<Part> parts_;
  size_t fields_ = 0;
};

}  // namespace weir::pipeline
