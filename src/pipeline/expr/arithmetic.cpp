// $add $subtract $multiply $divide $abs $round. Any null, missing or non-number operand
// makes the result null; integers stay integers until an int64 overflow makes them double.
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "pipeline/expr/operator_compilers.hpp"
#include "pipeline/expr/rounding.hpp"

namespace weir::pipeline::expr {
namespace {

// A running sum or product: int64 while it fits, double from the first double operand or
// int64 overflow on.
class Accumulator {
 public:
  explicit Accumulator(int64_t start) : i_(start) {}

  void add(const Value& v) noexcept {
    int64_t r = 0;
    if (is_int_ && v.is_int() && !__builtin_add_overflow(i_, v.as_int(), &r)) {
      i_ = r;
      return;
    }
    to_double();
    d_ += v.as_double();
  }

  void multiply(const Value& v) noexcept {
    int64_t r = 0;
    if (is_int_ && v.is_int() && !__builtin_mul_overflow(i_, v.as_int(), &r)) {
      i_ = r;
      return;
    }
    to_double();
    d_ *= v.as_double();
  }

  Value result() const noexcept { return is_int_ ? Value(i_) : Value(d_); }

 private:
  void to_double() noexcept {
    if (is_int_) {
      is_int_ = false;
      d_ = static_cast<double>(i_);
    }
  }

  bool is_int_ = true;
  int64_t i_;
  double d_ = 0.0;
};

class NaryArithmetic final : public Expression {
 public:
  NaryArithmetic(std::vector<ExpressionPtr> args, bool multiply)
      : args_(std::move(args)), multiply_(multiply) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Accumulator acc(multiply_ ? 1 : 0);
    for (const auto& arg : args_) {
      Value tmp;
      const Value& v = arg->eval(doc, tmp);
      if (!v.is_number()) return null_value();  // null, missing or not a number
      if (multiply_) {
        acc.multiply(v);
      } else {
        acc.add(v);
      }
    }
    scratch = acc.result();
    return scratch;
  }

 private:
  std::vector<ExpressionPtr> args_;
  bool multiply_;
};

class Subtract final : public Expression {
 public:
  explicit Subtract(std::vector<ExpressionPtr> args) : args_(std::move(args)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Value ta;
    Value tb;
    const Value& a = args_[0]->eval(doc, ta);
    const Value& b = args_[1]->eval(doc, tb);
    if (!a.is_number() || !b.is_number()) return null_value();
    int64_t r = 0;
    if (a.is_int() && b.is_int() && !__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) {
      scratch = Value(r);
    } else {
      scratch = Value(a.as_double() - b.as_double());
    }
    return scratch;
  }

 private:
  std::vector<ExpressionPtr> args_;
};

class Divide final : public Expression {
 public:
  explicit Divide(std::vector<ExpressionPtr> args) : args_(std::move(args)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Value ta;
    Value tb;
    const Value& a = args_[0]->eval(doc, ta);
    const Value& b = args_[1]->eval(doc, tb);
    if (!a.is_number() || !b.is_number() || b.as_double() == 0.0) return null_value();
    scratch = Value(a.as_double() / b.as_double());
    return scratch;
  }

 private:
  std::vector<ExpressionPtr> args_;
};

class Abs final : public Expression {
 public:
  explicit Abs(ExpressionPtr arg) : arg_(std::move(arg)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    const Value& v = arg_->eval(doc, scratch);
    if (v.is_int()) {
      int64_t i = v.as_int();
      scratch = i == INT64_MIN ? Value(-static_cast<double>(i)) : Value(i < 0 ? -i : i);
    } else if (v.is_double()) {
      scratch = Value(std::fabs(v.as_double()));
    } else {
      return null_value();
    }
    return scratch;
  }

 private:
  ExpressionPtr arg_;
};

constexpr int kMinPlace = -20;
constexpr int kMaxPlace = 100;

// The place of $round when it is a valid one: an integral number in [-20, 100].
bool valid_place(const Value& v, int& place) noexcept {
  if (!v.is_number()) return false;
  double d = v.as_double();
  if (!(d >= kMinPlace && d <= kMaxPlace) || d != std::floor(d)) return false;
  place = static_cast<int>(d);
  return true;
}

class Round final : public Expression {
 public:
  Round(ExpressionPtr number, ExpressionPtr place)
      : number_(std::move(number)), place_(std::move(place)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    int place = 0;
    if (place_) {
      Value tp;
      if (!valid_place(place_->eval(doc, tp), place)) return null_value();
    }
    const Value& v = number_->eval(doc, scratch);
    if (v.is_int()) {
      scratch = round_half_even(v.as_int(), place);
    } else if (v.is_double()) {
      scratch = Value(round_half_even(v.as_double(), place));
    } else {
      return null_value();
    }
    return scratch;
  }

 private:
  ExpressionPtr number_;
  ExpressionPtr place_;  // null: 0
};

}  // namespace

ExpressionPtr compile_add(const config::Node& args) {
  return std::make_unique<NaryArithmetic>(compile_args(args, "$add", 0, kVariadic), false);
}

ExpressionPtr compile_multiply(const config::Node& args) {
  return std::make_unique<NaryArithmetic>(compile_args(args, "$multiply", 0, kVariadic), true);
}

ExpressionPtr compile_subtract(const config::Node& args) {
  return std::make_unique<Subtract>(compile_args(args, "$subtract", 2, 2));
}

ExpressionPtr compile_divide(const config::Node& args) {
  return std::make_unique<Divide>(compile_args(args, "$divide", 2, 2));
}

ExpressionPtr compile_abs(const config::Node& args) {
  auto list = compile_args(args, "$abs", 1, 1);
  return std::make_unique<Abs>(std::move(list[0]));
}

ExpressionPtr compile_round(const config::Node& args) {
  auto list = compile_args(args, "$round", 1, 2);
  ExpressionPtr place;
  if (list.size() == 2) {
    place = std::move(list[1]);
    int unused = 0;
    const Value* constant = literal_of(*place);
    if (constant != nullptr && !valid_place(*constant, unused)) {
      args.at(size_t{1}).fail("an integer place from -20 to 100");
    }
  }
  return std::make_unique<Round>(std::move(list[0]), std::move(place));
}

}  // namespace weir::pipeline::expr
