// $concat and $toString.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/expr/operator_compilers.hpp"

namespace weir::pipeline::expr {
namespace {

class Concat final : public Expression {
 public:
  explicit Concat(std::vector<ExpressionPtr> args) : args_(std::move(args)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    std::string out;
    for (const auto& arg : args_) {
      Value tmp;
      const Value& v = arg->eval(doc, tmp);
      if (!v.is_string()) return null_value();  // null, missing or not a string
      out += v.as_string();
    }
    scratch = Value(std::move(out));
    return scratch;
  }

 private:
  std::vector<ExpressionPtr> args_;
};

class ToString final : public Expression {
 public:
  explicit ToString(ExpressionPtr arg) : arg_(std::move(arg)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    const Value& v = arg_->eval(doc, scratch);
    std::string out;
    switch (v.type()) {
      case Value::Type::kString:
        return v;
      case Value::Type::kBool:
        out = v.as_bool() ? "true" : "false";
        break;
      case Value::Type::kInt:
        out = std::to_string(v.as_int());
        break;
      case Value::Type::kDouble: {
        double d = v.as_double();
        if (std::isnan(d)) {
          out = "NaN";
        } else if (std::isinf(d)) {
          out = d > 0 ? "Infinity" : "-Infinity";
        } else {
          append_json_double(out, d);
        }
        break;
      }
      default:
        return null_value();  // null, missing; objects and arrays do not convert
    }
    scratch = Value(std::move(out));
    return scratch;
  }

 private:
  ExpressionPtr arg_;
};

}  // namespace

ExpressionPtr compile_concat(const config::Node& args) {
  return std::make_unique<Concat>(compile_args(args, "$concat", 0, kVariadic));
}

ExpressionPtr compile_to_string(const config::Node& args) {
  auto list = compile_args(args, "$toString", 1, 1);
  return std::make_unique<ToString>(std::move(list[0]));
}

}  // namespace weir::pipeline::expr
