// Internal to weir_project: dotted field paths as $addFields and $project use them.
#pragma once

#include <string_view>

#include "config/node.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

// "a.b.c" with non-empty names that do not start with "$"; throws ConfigError at `where`.
FieldPath parse_field_path(std::string_view dotted, const config::Node& where);

// True when one path is the other or a prefix of it ("a" and "a.b"): they cannot both be
// set or projected by one stage.
bool paths_collide(const FieldPath& a, const FieldPath& b) noexcept;

// Sets the field at path in obj (an object) to v, creating objects on the way. An array on
// the way gets the field in each of its elements (non-object elements become objects), as
// MongoDB does for "a.b" over a: [...].
void set_path(Value& obj, const FieldPath& path, Value v);

// Removes the field at path, in each element of arrays on the way.
void remove_path(Value& obj, const FieldPath& path);

}  // namespace weir::pipeline
