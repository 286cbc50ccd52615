// $cond $ifNull $and $or $not, the comparisons $eq $ne $gt $gte $lt $lte, $min and $max.
#include <string>
#include <utility>
#include <vector>

#include "pipeline/expr/operator_compilers.hpp"

namespace weir::pipeline::expr {
namespace {

class Cond final : public Expression {
 public:
  Cond(ExpressionPtr if_expr, ExpressionPtr then_expr, ExpressionPtr else_expr)
      : if_(std::move(if_expr)), then_(std::move(then_expr)), else_(std::move(else_expr)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Value tmp;
    bool pick_then = is_truthy(if_->eval(doc, tmp));
    return (pick_then ? then_ : else_)->eval(doc, scratch);
  }

 private:
  ExpressionPtr if_;
  ExpressionPtr then_;
  ExpressionPtr else_;
};

class IfNull final : public Expression {
 public:
  explicit IfNull(std::vector<ExpressionPtr> args) : args_(std::move(args)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    for (size_t i = 0; i + 1 < args_.size(); ++i) {
      const Value& v = args_[i]->eval(doc, scratch);
      if (!v.is_null()) return v;  // missing is a null too
    }
    return args_.back()->eval(doc, scratch);
  }

 private:
  std::vector<ExpressionPtr> args_;
};

class Logical final : public Expression {
 public:
  // is_and: $and (true unless one is false); otherwise $or (false unless one is true).
  Logical(std::vector<ExpressionPtr> args, bool is_and) : args_(std::move(args)), and_(is_and) {}

  const Value& eval(const Value& doc, Value&) const override {
    for (const auto& arg : args_) {
      Value tmp;
      if (is_truthy(arg->eval(doc, tmp)) != and_) return bool_value(!and_);
    }
    return bool_value(and_);
  }

 private:
  std::vector<ExpressionPtr> args_;
  bool and_;
};

class Not final : public Expression {
 public:
  explicit Not(ExpressionPtr arg) : arg_(std::move(arg)) {}

  const Value& eval(const Value& doc, Value&) const override {
    Value tmp;
    return bool_value(!is_truthy(arg_->eval(doc, tmp)));
  }

 private:
  ExpressionPtr arg_;
};

enum class Comparison { kEq, kNe, kGt, kGte, kLt, kLte };

class Compare final : public Expression {
 public:
  Compare(std::vector<ExpressionPtr> args, Comparison op) : args_(std::move(args)), op_(op) {}

  const Value& eval(const Value& doc, Value&) const override {
    Value ta;
    Value tb;
    int c = compare_with_missing(args_[0]->eval(doc, ta), args_[1]->eval(doc, tb));
    switch (op_) {
      case Comparison::kEq:
        return bool_value(c == 0);
      case Comparison::kNe:
        return bool_value(c != 0);
      case Comparison::kGt:
        return bool_value(c > 0);
      case Comparison::kGte:
        return bool_value(c >= 0);
      case Comparison::kLt:
        return bool_value(c < 0);
      case Comparison::kLte:
        return bool_value(c <= 0);
    }
    return bool_value(false);
  }

 private:
  std::vector<ExpressionPtr> args_;
  Comparison op_;
};

// $min / $max over the arguments, in MongoDB's order, ignoring null and missing; with a
// single argument that is an array, over its elements. Null when nothing is left.
class Extreme final : public Expression {
 public:
  Extreme(std::vector<ExpressionPtr> args, bool is_max) : args_(std::move(args)), max_(is_max) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    if (args_.size() == 1) {
      const Value& v = args_[0]->eval(doc, scratch);
      if (!v.is_array()) return v.is_null() ? null_value() : v;
      const Value* best = nullptr;
      for (size_t i = 0; i < v.size(); ++i) consider(v.at(i), best);
      if (best == nullptr) return null_value();
      if (&v == &scratch) {
        Value picked = *best;  // best points into scratch: copy before overwriting it
        scratch = std::move(picked);
        return scratch;
      }
      return *best;
    }
    const Value* best = nullptr;
    for (const auto& arg : args_) {
      Value tmp;
      const Value& v = arg->eval(doc, tmp);
      if (v.is_null()) continue;
      if (best == nullptr || better(v, *best)) {
        if (&v == &tmp) {
          scratch = std::move(tmp);
          best = &scratch;
        } else {
          best = &v;
        }
      }
    }
    return best != nullptr ? *best : null_value();
  }

 private:
  bool better(const Value& v, const Value& best) const noexcept {
    int c = compare(v, best);
    return max_ ? c > 0 : c < 0;
  }

  void consider(const Value& v, const Value*& best) const noexcept {
    if (v.is_null()) return;
    if (best == nullptr || better(v, *best)) best = &v;
  }

  std::vector<ExpressionPtr> args_;
  bool max_;
};

ExpressionPtr make_compare(const config::Node& args, std::string_view op, Comparison c) {
  return std::make_unique<Compare>(compile_args(args, op, 2, 2), c);
}

}  // namespace

ExpressionPtr compile_cond(const config::Node& args) {
  if (args.is_object()) {
    for (auto it = args.json().begin(); it != args.json().end(); ++it) {
      if (it.key() != "if" && it.key() != "then" && it.key() != "else") {
        throw config::ConfigError(args.path() + "/" + config::pointer_escape(it.key()),
                                  "unknown argument \"" + it.key() +
                                      "\" of $cond, expected \"if\", \"then\" and \"else\"");
      }
    }
    auto if_expr = compile_expression(args.at("if"));
    auto then_expr = compile_expression(args.at("then"));
    auto else_expr = compile_expression(args.at("else"));
    return std::make_unique<Cond>(std::move(if_expr), std::move(then_expr), std::move(else_expr));
  }
  if (!args.is_array() || args.size() != 3) {
    args.fail("[if, then, else] or {\"if\": ..., \"then\": ..., \"else\": ...} for $cond");
  }
  auto list = compile_args(args, "$cond", 3, 3);
  return std::make_unique<Cond>(std::move(list[0]), std::move(list[1]), std::move(list[2]));
}

ExpressionPtr compile_if_null(const config::Node& args) {
  if (!args.is_array()) args.fail("an array of 2 or more expressions for $ifNull");
  return std::make_unique<IfNull>(compile_args(args, "$ifNull", 2, kVariadic));
}

ExpressionPtr compile_and(const config::Node& args) {
  return std::make_unique<Logical>(compile_args(args, "$and", 0, kVariadic), true);
}

ExpressionPtr compile_or(const config::Node& args) {
  return std::make_unique<Logical>(compile_args(args, "$or", 0, kVariadic), false);
}

ExpressionPtr compile_not(const config::Node& args) {
  auto list = compile_args(args, "$not", 1, 1);
  return std::make_unique<Not>(std::move(list[0]));
}

ExpressionPtr compile_eq(const config::Node& args) {
  return make_compare(args, "$eq", Comparison::kEq);
}
ExpressionPtr compile_ne(const config::Node& args) {
  return make_compare(args, "$ne", Comparison::kNe);
}
ExpressionPtr compile_gt(const config::Node& args) {
  return make_compare(args, "$gt", Comparison::kGt);
}
ExpressionPtr compile_gte(const config::Node& args) {
  return make_compare(args, "$gte", Comparison::kGte);
}
ExpressionPtr compile_lt(const config::Node& args) {
  return make_compare(args, "$lt", Comparison::kLt);
}
ExpressionPtr compile_lte(const config::Node& args) {
  return make_compare(args, "$lte", Comparison::kLte);
}

ExpressionPtr compile_min(const config::Node& args) {
  return std::make_unique<Extreme>(compile_args(args, "$min", 1, kVariadic), false);
}

ExpressionPtr compile_max(const config::Node& args) {
  return std::make_unique<Extreme>(compile_args(args, "$max", 1, kVariadic), true);
}

}  // namespace weir::pipeline::expr
