#include "pipeline/expr/expression.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/expr/operator_compilers.hpp"

namespace weir::pipeline {

const Value& missing_value() noexcept {
  static const Value kMissing;
  return kMissing;
}

bool is_missing(const Value& v) noexcept { return &v == &missing_value(); }

const Value& null_value() noexcept {
  static const Value kNull;
  return kNull;
}

bool is_truthy(const Value& v) noexcept {
  switch (v.type()) {
    case Value::Type::kNull:
      return false;
    case Value::Type::kBool:
      return v.as_bool();
    case Value::Type::kInt:
      return v.as_int() != 0;
    case Value::Type::kDouble:
      return v.as_double() != 0.0;
    default:
      return true;
  }
}

int compare_with_missing(const Value& a, const Value& b) noexcept {
  bool ma = is_missing(a);
  bool mb = is_missing(b);
  if (ma || mb) return ma == mb ? 0 : (ma ? -1 : 1);
  return compare(a, b);
}

namespace expr {
namespace {

class LiteralExpression final : public Expression {
 public:
  explicit LiteralExpression(Value v) : value_(std::move(v)) {}
  const Value& eval(const Value&, Value&) const override { return value_; }
  const Value& value() const noexcept { return value_; }

 private:
  Value value_;
};

class RootExpression final : public Expression {
 public:
  const Value& eval(const Value& doc, Value&) const override { return doc; }
};

class MissingExpression final : public Expression {
 public:
  const Value& eval(const Value&, Value&) const override { return missing_value(); }
};

// Copies the values found under parts[i..] of v into out, traversing arrays the way
// MongoDB field paths do ("$a.b" over a: [{b: 1}, {b: 2}] is [1, 2]). False when missing.
bool collect_path(const Value& v, const std::vector<std::string>& parts, size_t i, Value& out) {
  const Value* cur = &v;
  for (; i < parts.size(); ++i) {
    if (cur->is_object()) {
      cur = cur->find(parts[i]);
      if (cur == nullptr) return false;
    } else if (cur->is_array()) {
      Value arr = Value::array();
      arr.reserve(cur->size());
      for (size_t k = 0; k < cur->size(); ++k) {
        const Value& elem = cur->at(k);
        if (!elem.is_object() && !elem.is_array()) continue;
        Value sub;
        if (collect_path(elem, parts, i, sub)) arr.push_back(std::move(sub));
      }
      out = std::move(arr);
      return true;
    } else {
      return false;
    }
  }
  out = *cur;
  return true;
}

class FieldPathExpression final : public Expression {
 public:
  explicit FieldPathExpression(FieldPath path) : path_(std::move(path)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    const auto& parts = path_.parts();
    const Value* cur = &doc;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (cur->is_object()) {
        cur = cur->find(parts[i]);
        if (cur == nullptr) return missing_value();
      } else if (cur->is_array()) {
        // Rare: an array on the way. Build the traversed values in scratch.
        return collect_path(*cur, parts, i, scratch) ? scratch : missing_value();
      } else {
        return missing_value();
      }
    }
    return *cur;
  }

 private:
  FieldPath path_;
};

class DocumentExpression final : public Expression {
 public:
  explicit DocumentExpression(std::vector<std::pair<std::string, ExpressionPtr>> fields)
      : fields_(std::move(fields)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Value out = Value::object();
    out.reserve(fields_.size());
    for (const auto& [name, e] : fields_) {
      Value tmp;
      const Value& v = e->eval(doc, tmp);
      if (is_missing(v)) continue;
      out.set(name, &v == &tmp ? std::move(tmp) : v);
    }
    scratch = std::move(out);
    return scratch;
  }

 private:
  std::vector<std::pair<std::string, ExpressionPtr>> fields_;
};

class ArrayExpression final : public Expression {
 public:
  explicit ArrayExpression(std::vector<ExpressionPtr> items) : items_(std::move(items)) {}

  const Value& eval(const Value& doc, Value& scratch) const override {
    Value out = Value::array();
    out.reserve(items_.size());
    for (const auto& e : items_) {
      Value tmp;
      const Value& v = e->eval(doc, tmp);
      if (is_missing(v)) {
        out.push_back(Value());
      } else {
        out.push_back(&v == &tmp ? std::move(tmp) : v);
      }
    }
    scratch = std::move(out);
    return scratch;
  }

 private:
  std::vector<ExpressionPtr> items_;
};

using Compiler = ExpressionPtr (*)(const config::Node& args);

struct OperatorEntry {
  std::string_view name;
  Compiler compile;
};

ExpressionPtr compile_literal_op(const config::Node& args) { return make_literal(args.as_value()); }

constexpr OperatorEntry kOperators[] = {
    {"$add", compile_add},
    {"$subtract", compile_subtract},
    {"$multiply", compile_multiply},
    {"$divide", compile_divide},
    {"$abs", compile_abs},
    {"$round", compile_round},
    {"$min", compile_min},
    {"$max", compile_max},
    {"$cond", compile_cond},
    {"$ifNull", compile_if_null},
    {"$eq", compile_eq},
    {"$ne", compile_ne},
    {"$gt", compile_gt},
    {"$gte", compile_gte},
    {"$lt", compile_lt},
    {"$lte", compile_lte},
    {"$and", compile_and},
    {"$or", compile_or},
    {"$not", compile_not},
    {"$concat", compile_concat},
    {"$toString", compile_to_string},
    {"$literal", compile_literal_op},
};

std::string operator_list() {
  std::string list;
  for (const auto& op : kOperators) {
    if (!list.empty()) list += ", ";
    list += op.name;
  }
  return list;
}

bool is_valid_field_name(std::string_view s) {
  return !s.empty() && s[0] != '$' && s.find('.') == std::string_view::npos;
}

ExpressionPtr compile_string(const config::Node& node) {
  const std::string& s = node.json().get_ref<const std::string&>();
  if (s.empty() || s[0] != '$') return make_literal(Value(s));
  std::string_view rest = std::string_view(s).substr(1);
  if (!rest.empty() && rest[0] == '$') {
    std::string_view var = rest.substr(1);
    std::string_view sub;
    if (size_t dot = var.find('.'); dot != std::string_view::npos) {
      sub = var.substr(dot + 1);
      var = var.substr(0, dot);
    }
    if (var == "REMOVE" && sub.empty()) return std::make_unique<MissingExpression>();
    if (var == "ROOT" || var == "CURRENT") {
      if (sub.empty() && s.size() == 2 + var.size()) return std::make_unique<RootExpression>();
      rest = sub;  // "$$ROOT.a.b" is the field path a.b
    } else {
      node.fail(
          "a field path such as \"$a.b\" or one of the variables $$ROOT, $$CURRENT, "
          "$$REMOVE");
    }
  }
  FieldPath path(rest);
  for (const auto& part : path.parts()) {
    if (part.empty() || part[0] == '$') {
      node.fail("a field path such as \"$a.b\" (non-empty names separated by dots)");
    }
  }
  return std::make_unique<FieldPathExpression>(std::move(path));
}

ExpressionPtr compile_object(const config::Node& node) {
  const auto& j = node.json();
  bool has_operator = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    has_operator = has_operator || (!it.key().empty() && it.key()[0] == '$');
  }
  if (has_operator) {
    if (j.size() != 1) {
      node.fail(
          "an expression object with exactly one operator such as {\"$add\": [1, 2]}, "
          "or a document whose field names do not start with \"$\"");
    }
    const std::string& op = j.begin().key();
    config::Node args(j.begin().value(), node.path() + "/" + config::pointer_escape(op));
    for (const auto& entry : kOperators) {
      if (entry.name == op) return entry.compile(args);
    }
    throw config::ConfigError(node.path(), "unknown expression operator \"" + op +
                                               "\", expected one of " + operator_list());
  }
  std::vector<std::pair<std::string, ExpressionPtr>> fields;
  fields.reserve(j.size());
  bool constant = true;
  for (auto it = j.begin(); it != j.end(); ++it) {
    config::Node child(it.value(), node.path() + "/" + config::pointer_escape(it.key()));
    if (!is_valid_field_name(it.key())) {
      throw config::ConfigError(child.path(),
                                "invalid field name \"" + it.key() +
                                    "\" in a document expression, expected a non-empty name "
                                    "without \".\" that does not start with \"$\"");
    }
    ExpressionPtr e = compile_expression(child);
    constant = constant && literal_of(*e) != nullptr;
    fields.emplace_back(it.key(), std::move(e));
  }
  auto doc = std::make_unique<DocumentExpression>(std::move(fields));
  if (!constant) return doc;
  Value scratch;
  const Value& v = doc->eval(Value(), scratch);
  return make_literal(v);
}

ExpressionPtr compile_array(const config::Node& node) {
  std::vector<ExpressionPtr> items;
  items.reserve(node.size());
  bool constant = true;
  for (size_t i = 0; i < node.size(); ++i) {
    ExpressionPtr e = compile_expression(node.at(i));
    constant = constant && literal_of(*e) != nullptr;
    items.push_back(std::move(e));
  }
  auto arr = std::make_unique<ArrayExpression>(std::move(items));
  if (!constant) return arr;
  Value scratch;
  const Value& v = arr->eval(Value(), scratch);
  return make_literal(v);
}

}  // namespace

ExpressionPtr make_literal(Value v) { return std::make_unique<LiteralExpression>(std::move(v)); }

const Value* literal_of(const Expression& e) noexcept {
  const auto* lit = dynamic_cast<const LiteralExpression*>(&e);
  return lit != nullptr ? &lit->value() : nullptr;
}

const Value& bool_value(bool b) noexcept {
  static const Value kTrue(true);
  static const Value kFalse(false);
  return b ? kTrue : kFalse;
}

std::vector<ExpressionPtr> compile_args(const config::Node& args, std::string_view op, size_t min,
                                        size_t max) {
  size_t n = args.is_array() ? args.size() : 1;
  if (n < min || n > max) {
    std::string count = max == min         ? std::to_string(min)
                        : max == kVariadic ? std::to_string(min) + " or more"
                                           : std::to_string(min) + " to " + std::to_string(max);
    args.fail("an array of " + count + (max == 1 ? " expression" : " expressions") + " for " +
              std::string(op));
  }
  std::vector<ExpressionPtr> out;
  out.reserve(n);
  if (!args.is_array()) {
    out.push_back(compile_expression(args));
    return out;
  }
  for (size_t i = 0; i < n; ++i) out.push_back(compile_expression(args.at(i)));
  return out;
}

}  // namespace expr

std::unique_ptr<Expression> compile_expression(const config::Node& node) {
  const auto& j = node.json();
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return expr::compile_string(node);
    case nlohmann::json::value_t::object:
      return expr::compile_object(node);
    case nlohmann::json::value_t::array:
      return expr::compile_array(node);
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::boolean:
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return expr::make_literal(node.as_value());
    default:
      node.fail("an expression");
  }
}

}  // namespace weir::pipeline
