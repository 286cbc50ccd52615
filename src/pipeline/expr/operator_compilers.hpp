// Internal to weir_expr: the compilers of the expression operators, one per "$name", and
// the helpers they share. compile_expression() dispatches to them through a table.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"

namespace weir::pipeline::expr {

using ExpressionPtr = std::unique_ptr<Expression>;
inline constexpr size_t kVariadic = std::numeric_limits<size_t>::max();

// The arguments of operator op: an array of min..max expressions, or (when a single
// argument is allowed) one non-array expression. Throws ConfigError at args' path.
std::vector<ExpressionPtr> compile_args(const config::Node& args, std::string_view op, size_t min,
                                        size_t max);

// A constant expression; literal_of returns its value, or nullptr for other expressions.
ExpressionPtr make_literal(Value v);
const Value* literal_of(const Expression& e) noexcept;

// Each takes the node of the operator's argument (the value of the "$op" key).
ExpressionPtr compile_add(const config::Node& args);
ExpressionPtr compile_subtract(const config::Node& args);
ExpressionPtr compile_multiply(const config::Node& args);
ExpressionPtr compile_divide(const config::Node& args);
ExpressionPtr compile_abs(const config::Node& args);
ExpressionPtr compile_round(const config::Node& args);

ExpressionPtr compile_min(const config::Node& args);
ExpressionPtr compile_max(const config::Node& args);
ExpressionPtr compile_cond(const config::Node& args);
ExpressionPtr compile_if_null(const config::Node& args);
ExpressionPtr compile_and(const config::Node& args);
ExpressionPtr compile_or(const config::Node& args);
ExpressionPtr compile_not(const config::Node& args);
ExpressionPtr compile_eq(const config::Node& args);
ExpressionPtr compile_ne(const config::Node& args);
ExpressionPtr compile_gt(const config::Node& args);
ExpressionPtr compile_gte(const config::Node& args);
ExpressionPtr compile_lt(const config::Node& args);
ExpressionPtr compile_lte(const config::Node& args);

ExpressionPtr compile_concat(const config::Node& args);
ExpressionPtr compile_to_string(const config::Node& args);

// Shared boolean constants (what comparisons and $and/$or/$not return).
const Value& bool_value(bool b) noexcept;

}  // namespace weir::pipeline::expr
