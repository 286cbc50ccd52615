#include "pipeline/match/matcher.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/expr/expression.hpp"

namespace weir::pipeline {
namespace {

using MatcherPtr = std::unique_ptr<Matcher>;

// A test of one candidate value of a field; nullptr stands for a missing field.
class ElementTest {
 public:
  virtual ~ElementTest() = default;
  virtual bool test(const Value* v) const = 0;
};

// {field: value}, $eq: null also matches a missing field.
class EqualsTest final : public ElementTest {
 public:
  explicit EqualsTest(Value value) : value_(std::move(value)) {}
  bool test(const Value* v) const override {
    return v == nullptr ? value_.is_null() : compare(*v, value_) == 0;
  }

 private:
  Value value_;
};

enum class Order { kGt, kGte, kLt, kLte };

// $gt $gte $lt $lte with type bracketing: only values of the operand's canonical type rank
// compare ({$gt: 5} never matches a string). A null operand matches null and missing
// fields for $gte/$lte and nothing for $gt/$lt.
class OrderTest final : public ElementTest {
 public:
  OrderTest(Value value, Order order) : value_(std::move(value)), order_(order) {}
  bool test(const Value* v) const override {
    bool inclusive = order_ == Order::kGte || order_ == Order::kLte;
    if (value_.is_null()) return inclusive && (v == nullptr || v->is_null());
    if (v == nullptr || type_rank(*v) != type_rank(value_)) return false;
    int c = compare(*v, value_);
    switch (order_) {
      case Order::kGt:
        return c > 0;
      case Order::kGte:
        return c >= 0;
      case Order::kLt:
        return c < 0;
      case Order::kLte:
        return c <= 0;
    }
    return false;
  }

 private:
  Value value_;
  Order order_;
};

class InTest final : public ElementTest {
 public:
  explicit InTest(std::vector<EqualsTest> values) : values_(std::move(values)) {}
  bool test(const Value* v) const override {
    for (const auto& e : values_) {
      if (e.test(v)) return true;
    }
    return false;
  }

 private:
  std::vector<EqualsTest> values_;
};

class ExistsTest final : public ElementTest {
 public:
  bool test(const Value* v) const override { return v != nullptr; }
};

bool parse_index(std::string_view s, size_t& index) {
  if (s.empty() || s.size() > 9) return false;
  index = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return true;
}

// Visits the candidate values of a dotted path as MongoDB's element iterator does: arrays
// on the way are traversed into their object elements (or indexed: "a.0.b"), an array at
// the end is tested whole and element by element, and an object without the field yields
// "missing". When nothing at all is yielded the field is missing.
class FieldMatcher final : public Matcher {
 public:
  FieldMatcher(FieldPath path, std::unique_ptr<ElementTest> test)
      : path_(std::move(path)), test_(std::move(test)) {}

  bool matches(const Value& doc) const override {
    size_t yielded = 0;
    if (walk(doc, 0, yielded)) return true;
    return yielded == 0 && test_->test(nullptr);
  }

 private:
  bool leaf(const Value* v, size_t& yielded) const {
    ++yielded;
    if (test_->test(v)) return true;
    if (v != nullptr && v->is_array()) {
      for (size_t k = 0; k < v->size(); ++k) {
        if (test_->test(&v->at(k))) return true;
      }
    }
    return false;
  }

  // cur is an object or an array; i < number of parts.
  bool walk(const Value& cur, size_t i, size_t& yielded) const {
    const auto& parts = path_.parts();
    bool last = i + 1 == parts.size();
    if (cur.is_object()) {
      const Value* next = cur.find(parts[i]);
      if (last) return leaf(next, yielded);
      if (next != nullptr && (next->is_object() || next->is_array())) {
        return walk(*next, i + 1, yielded);
      }
      return leaf(nullptr, yielded);  // missing, or a scalar where an object was expected
    }
    size_t index = 0;
    if (parse_index(parts[i], index) && index < cur.size()) {
      const Value& e = cur.at(index);
      if (last) {
        if (leaf(&e, yielded)) return true;
      } else if (e.is_object() || e.is_array()) {
        if (walk(e, i + 1, yielded)) return true;
      }
    }
    for (size_t k = 0; k < cur.size(); ++k) {
      const Value& e = cur.at(k);
      if (e.is_object() && walk(e, i, yielded)) return true;
    }
    return false;
  }

  FieldPath path_;
  std::unique_ptr<ElementTest> test_;
};

class NotMatcher final : public Matcher {
 public:
  explicit NotMatcher(MatcherPtr inner) : inner_(std::move(inner)) {}
  bool matches(const Value& doc) const override { return !inner_->matches(doc); }

 private:
  MatcherPtr inner_;
};

enum class Logic { kAnd, kOr, kNor };

class LogicMatcher final : public Matcher {
 public:
  LogicMatcher(std::vector<MatcherPtr> list, Logic logic) : list_(std::move(list)), logic_(logic) {}

  bool matches(const Value& doc) const override {
    // $and: false at the first false; $or/$nor: decided at the first true.
    bool stop_on = logic_ != Logic::kAnd;
    for (const auto& m : list_) {
      if (m->matches(doc) == stop_on) return logic_ == Logic::kOr;
    }
    return logic_ != Logic::kOr;
  }

 private:
  std::vector<MatcherPtr> list_;
  Logic logic_;
};

class ExprMatcher final : public Matcher {
 public:
  explicit ExprMatcher(std::unique_ptr<Expression> expr) : expr_(std::move(expr)) {}
  bool matches(const Value& doc) const override {
    Value scratch;
    return is_truthy(expr_->eval(doc, scratch));
  }

 private:
  std::unique_ptr<Expression> expr_;
};

constexpr std::string_view kFieldOperators =
    "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $not";

config::Node child_of(const config::Node& node, config::Json::const_iterator it) {
  return config::Node(it.value(), node.path() + "/" + config::pointer_escape(it.key()));
}

// An object with a key that starts with "$": {"$gt": 5}, as opposed to a document value.
bool is_operator_object(const config::Node& node) {
  if (!node.is_object()) return false;
  for (auto it = node.json().begin(); it != node.json().end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '$') return true;
  }
  return false;
}

MatcherPtr all_of(std::vector<MatcherPtr> list) {
  if (list.size() == 1) return std::move(list[0]);
  return std::make_unique<LogicMatcher>(std::move(list), Logic::kAnd);
}

MatcherPtr field(const FieldPath& path, std::unique_ptr<ElementTest> test) {
  return std::make_unique<FieldMatcher>(path, std::move(test));
}

MatcherPtr negate(MatcherPtr m) { return std::make_unique<NotMatcher>(std::move(m)); }

// {"$gt": 1, "$lt": 5} for the field at path.
MatcherPtr compile_operators(const FieldPath& path, const config::Node& ops) {
  std::vector<MatcherPtr> list;
  for (auto it = ops.json().begin(); it != ops.json().end(); ++it) {
    const std::string& op = it.key();
    config::Node arg = child_of(ops, it);
    if (op == "$eq" || op == "$ne") {
      auto eq = field(path, std::make_unique<EqualsTest>(arg.as_value()));
      list.push_back(op == "$eq" ? std::move(eq) : negate(std::move(eq)));
    } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
      Order order = op == "$gt"    ? Order::kGt
                    : op == "$gte" ? Order::kGte
                    : op == "$lt"  ? Order::kLt
                                   : Order::kLte;
      list.push_back(field(path, std::make_unique<OrderTest>(arg.as_value(), order)));
    } else if (op == "$in" || op == "$nin") {
      arg.expect_array();
      std::vector<EqualsTest> values;
      values.reserve(arg.size());
      for (size_t i = 0; i < arg.size(); ++i) values.emplace_back(arg.at(i).as_value());
      auto in = field(path, std::make_unique<InTest>(std::move(values)));
      list.push_back(op == "$in" ? std::move(in) : negate(std::move(in)));
    } else if (op == "$exists") {
      if (!arg.json().is_boolean() && !arg.is_number()) arg.fail("true or false");
      auto exists = field(path, std::make_unique<ExistsTest>());
      list.push_back(is_truthy(arg.as_value()) ? std::move(exists) : negate(std::move(exists)));
    } else if (op == "$not") {
      if (!is_operator_object(arg)) arg.fail("an operator object such as {\"$gt\": 5}");
      list.push_back(negate(compile_operators(path, arg)));
    } else {
      throw config::ConfigError(
          arg.path(),
          "unknown query operator \"" + op + "\", expected one of " + std::string(kFieldOperators));
    }
  }
  return all_of(std::move(list));
}

MatcherPtr compile_query(const config::Node& query) {
  query.expect_object();
  std::vector<MatcherPtr> list;
  for (auto it = query.json().begin(); it != query.json().end(); ++it) {
    const std::string& key = it.key();
    config::Node value = child_of(query, it);
    if (!key.empty() && key[0] == '$') {
      if (key == "$and" || key == "$or" || key == "$nor") {
        value.expect_array(true);
        std::vector<MatcherPtr> sub;
        sub.reserve(value.size());
        for (size_t i = 0; i < value.size(); ++i) sub.push_back(compile_query(value.at(i)));
        Logic logic = key == "$and" ? Logic::kAnd : key == "$or" ? Logic::kOr : Logic::kNor;
        list.push_back(std::make_unique<LogicMatcher>(std::move(sub), logic));
      } else if (key == "$expr") {
        list.push_back(std::make_unique<ExprMatcher>(compile_expression(value)));
      } else if (key != "$comment") {
        throw config::ConfigError(value.path(),
                                  "unknown top-level query operator \"" + key +
                                      "\", expected one of $and, $or, $nor, $expr, $comment "
                                      "or a field name");
      }
      continue;
    }
    FieldPath path(key);
    for (const auto& part : path.parts()) {
      if (part.empty()) {
        throw config::ConfigError(
            value.path(), "invalid field path \"" + key + "\", expected names separated by dots");
      }
    }
    if (is_operator_object(value)) {
      for (auto op = value.json().begin(); op != value.json().end(); ++op) {
        if (op.key().empty() || op.key()[0] != '$') {
          throw config::ConfigError(child_of(value, op).path(),
                                    "unknown query operator \"" + op.key() +
                                        "\" (an operator object cannot also hold fields), "
                                        "expected one of " +
                                        std::string(kFieldOperators));
        }
      }
      list.push_back(compile_operators(path, value));
    } else {
      list.push_back(field(path, std::make_unique<EqualsTest>(value.as_value())));
    }
  }
  return all_of(std::move(list));
}

}  // namespace

std::unique_ptr<Matcher> compile_match(const config::Node& query) { return compile_query(query); }

}  // namespace weir::pipeline
