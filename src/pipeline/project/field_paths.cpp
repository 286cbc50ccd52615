#include "pipeline/project/field_paths.hpp"

#include <string>
#include <utility>
#include <vector>

namespace weir::pipeline {
namespace {

using Parts = std::vector<std::string>;

void set_in(Value& container, const Parts& parts, size_t i, Value&& v);

// Sets parts[i..] in each element of arr; the value is copied into all but the last one.
void set_in_array(Value& arr, const Parts& parts, size_t i, Value&& v) {
  size_t n = arr.size();
  for (size_t k = 0; k < n; ++k) {
    Value& e = arr.at(k);
    if (!e.is_object() && !e.is_array()) e = Value::object();
    set_in(e, parts, i, k + 1 == n ? std::move(v) : Value(v));
  }
}

// container is an object or an array.
void set_in(Value& container, const Parts& parts, size_t i, Value&& v) {
  if (container.is_array()) {
    set_in_array(container, parts, i, std::move(v));
    return;
  }
  if (i + 1 == parts.size()) {
    container.set(parts[i], std::move(v));
    return;
  }
  Value* next = container.find(parts[i]);
  if (next == nullptr || (!next->is_object() && !next->is_array())) {
    next = &container.set(parts[i], Value::object());
  }
  set_in(*next, parts, i + 1, std::move(v));
}

void remove_in(Value& container, const Parts& parts, size_t i) {
  if (container.is_array()) {
    for (size_t k = 0; k < container.size(); ++k) {
      Value& e = container.at(k);
      if (e.is_object() || e.is_array()) remove_in(e, parts, i);
    }
    return;
  }
  if (!container.is_object()) return;
  if (i + 1 == parts.size()) {
    container.erase(parts[i]);
    return;
  }
  Value* next = container.find(parts[i]);
  if (next != nullptr && (next->is_object() || next->is_array())) remove_in(*next, parts, i + 1);
}

}  // namespace

FieldPath parse_field_path(std::string_view dotted, const config::Node& where) {
  FieldPath path(dotted);
  for (const auto& part : path.parts()) {
    if (part.empty() || part[0] == '$') {
      throw config::ConfigError(where.path(),
                                "invalid field path \"" + std::string(dotted) +
                                    "\", expected names separated by dots that are not "
                                    "empty and do not start with \"$\"");
    }
  }
  return path;
}

bool paths_collide(const FieldPath& a, const FieldPath& b) noexcept {
  const auto& pa = a.parts();
  const auto& pb = b.parts();
  size_t n = pa.size() < pb.size() ? pa.size() : pb.size();
  for (size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) return false;
  }
  return true;
}

void set_path(Value& obj, const FieldPath& path, Value v) {
  if (path.empty() || !obj.is_object()) return;
  set_in(obj, path.parts(), 0, std::move(v));
}

void remove_path(Value& obj, const FieldPath& path) {
  if (path.empty()) return;
  remove_in(obj, path.parts(), 0);
}

}  // namespace weir::pipeline
