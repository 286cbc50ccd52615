// MongoDB aggregation expressions ("$a.b", {"$add": [...]}, {"$cond": ...}), compiled once
// from the config and evaluated per record without exceptions.
#pragma once

#include <memory>

#include "config/node.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

class Expression {
 public:
  virtual ~Expression() = default;
  // Evaluates against doc. Returns a reference into doc (plain field paths: no copy), into
  // a static constant (null, missing, true, false, literals) or to scratch itself, which the
  // expression may overwrite. scratch must not be doc or a part of it. Never throws for
  // bad data: a type mismatch or a division by zero evaluates to null.
  virtual const Value& eval(const Value& doc, Value& scratch) const = 0;
};

// Compiles an expression from its config node. Throws config::ConfigError naming the JSON
// path of the offending part (unknown operator, wrong number of arguments, ...).
std::unique_ptr<Expression> compile_expression(const config::Node& node);

// The value of a field that does not exist ("$nope", "$$REMOVE"). It is a null Value with
// its own address: is_missing() tells it apart from a stored null. $addFields and $project
// leave out fields whose expression is missing.
const Value& missing_value() noexcept;
bool is_missing(const Value& v) noexcept;
// A shared null constant (what arithmetic on null, missing or bad operands returns).
const Value& null_value() noexcept;

// MongoDB truthiness: false, null, missing and numeric zero are false; everything else
// (including "" and []) is true.
bool is_truthy(const Value& v) noexcept;

// compare() extended with "missing", which sorts before every value (null included),
// as in MongoDB aggregation: {$eq: ["$nope", null]} is false.
int compare_with_missing(const Value& a, const Value& b) noexcept;

}  // namespace weir::pipeline
