#include "pipeline/validate/json_schema.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace weir::pipeline {
namespace {

// What a `type` / `bsonType` keyword accepts, as bits.
enum TypeBit : uint16_t {
  kObjectBit = 1 << 0,
  kArrayBit = 1 << 1,
  kStringBit = 1 << 2,
  kNumberBit = 1 << 3,   // any number
  kIntegerBit = 1 << 4,  // an integer, or a double without a fraction (JSON Schema)
  kBooleanBit = 1 << 5,
  kNullBit = 1 << 6,
  kIntBit = 1 << 7,     // bsonType int / long: stored as an integer
  kDoubleBit = 1 << 8,  // bsonType double: stored as a double
};

struct TypeName {
  std::string_view name;
  uint16_t bits;
};

constexpr TypeName kJsonTypes[] = {
    {"object", kObjectBit}, {"array", kArrayBit},     {"string", kStringBit},
    {"number", kNumberBit}, {"integer", kIntegerBit}, {"boolean", kBooleanBit},
    {"null", kNullBit},
};

constexpr TypeName kBsonTypes[] = {
    {"int", kIntBit},       {"long", kIntBit},      {"double", kDoubleBit},
    {"number", kNumberBit}, {"string", kStringBit}, {"bool", kBooleanBit},
    {"object", kObjectBit}, {"array", kArrayBit},   {"null", kNullBit},
};

constexpr std::string_view kKeywords =
    "type, bsonType, required, properties, additionalProperties, enum, minimum, maximum, "
    "exclusiveMinimum, exclusiveMaximum, minLength, maxLength, title, description";

bool has_type(const Value& v, uint16_t bits) noexcept {
  switch (v.type()) {
    case Value::Type::kObject:
      return (bits & kObjectBit) != 0;
    case Value::Type::kArray:
      return (bits & kArrayBit) != 0;
    case Value::Type::kString:
      return (bits & kStringBit) != 0;
    case Value::Type::kBool:
      return (bits & kBooleanBit) != 0;
    case Value::Type::kNull:
      return (bits & kNullBit) != 0;
    case Value::Type::kInt:
      return (bits & (kNumberBit | kIntegerBit | kIntBit)) != 0;
    case Value::Type::kDouble: {
      if ((bits & (kNumberBit | kDoubleBit)) != 0) return true;
      double d = v.as_double();
      return (bits & kIntegerBit) != 0 && std::isfinite(d) && d == std::floor(d);
    }
  }
  return false;
}

// Number of Unicode code points in UTF-8 text.
size_t utf8_length(const std::string& s) noexcept {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// The data location of a value, as a chain of keys kept on the stack while validating.
struct Location {
  const Location* parent;
  std::string_view key;
};

void append_location(std::string& out, const Location* loc) {
  if (loc == nullptr) return;
  append_location(out, loc->parent);
  out += '/';
  out += config::pointer_escape(loc->key);
}

std::string short_json(const Value& v) {
  std::string s = v.to_json();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace

struct JsonSchema::Rule {
  std::string path;               // JSON pointer inside the schema: "" or "/properties/temp"
  uint16_t types = 0;             // 0: any type
  std::string_view type_keyword;  // "type" or "bsonType"
  std::string type_text;          // "number or null"
  std::vector<Value> enum_values;
  std::string enum_text;
  std::optional<Value> minimum;
  std::optional<Value> maximum;
  std::optional<Value> exclusive_minimum;
  std::optional<Value> exclusive_maximum;
  std::optional<size_t> min_length;
  std::optional<size_t> max_length;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::unique_ptr<Rule>>> properties;
  bool additional_properties = true;

  bool check(const Value& v, const Location* loc, std::string& detail) const;
  bool fail(const Location* loc, std::string_view message, std::string_view keyword,
            std::string& detail) const;
};

bool JsonSchema::Rule::fail(const Location* loc, std::string_view message, std::string_view keyword,
                            std::string& detail) const {
  detail.clear();
  append_location(detail, loc);
  if (!detail.empty()) detail += ": ";
  detail += message;
  detail += " (rule ";
  detail += path;
  detail += '/';
  detail += keyword;
  detail += ')';
  return false;
}

bool JsonSchema::Rule::check(const Value& v, const Location* loc, std::string& detail) const {
  if (types != 0 && !has_type(v, types)) {
    return fail(loc,
                short_json(v) + " is " + std::string(v.type_name()) + ", expected " + type_text,
                type_keyword, detail);
  }
  if (!enum_values.empty()) {
    bool found = false;
    for (const auto& e : enum_values) found = found || compare(v, e) == 0;
    if (!found) return fail(loc, short_json(v) + " is not one of " + enum_text, "enum", detail);
  }
  if (v.is_number()) {
    if (minimum && compare(v, *minimum) < 0) {
      return fail(loc, short_json(v) + " is below minimum " + short_json(*minimum), "minimum",
                  detail);
    }
    if (exclusive_minimum && compare(v, *exclusive_minimum) <= 0) {
      return fail(
          loc, short_json(v) + " is not above exclusiveMinimum " + short_json(*exclusive_minimum),
          "exclusiveMinimum", detail);
    }
    if (maximum && compare(v, *maximum) > 0) {
      return fail(loc, short_json(v) + " is above maximum " + short_json(*maximum), "maximum",
                  detail);
    }
    if (exclusive_maximum && compare(v, *exclusive_maximum) >= 0) {
      return fail(
          loc, short_json(v) + " is not below exclusiveMaximum " + short_json(*exclusive_maximum),
          "exclusiveMaximum", detail);
    }
  } else if (v.is_string() && (min_length || max_length)) {
    size_t n = utf8_length(v.as_string());
    if (min_length && n < *min_length) {
      return fail(loc, short_json(v) + " is shorter than minLength " + std::to_string(*min_length),
                  "minLength", detail);
    }
    if (max_length && n > *max_length) {
      return fail(loc, short_json(v) + " is longer than maxLength " + std::to_string(*max_length),
                  "maxLength", detail);
    }
  } else if (v.is_object()) {
    for (const auto& name : required) {
      if (v.find(name) == nullptr) {
        return fail(loc, "missing required field \"" + name + "\"", "required", detail);
      }
    }
    for (const auto& [name, rule] : properties) {
      if (const Value* child = v.find(name)) {
        Location here{loc, name};
        if (!rule->check(*child, &here, detail)) return false;
      }
    }
    if (!additional_properties) {
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string& key = v.key(i);
        bool known = false;
        for (const auto& p : properties) known = known || p.first == key;
        if (!known) {
          Location here{loc, key};
          return fail(&here, "field \"" + key + "\" is not allowed", "additionalProperties",
                      detail);
        }
      }
    }
  }
  return true;
}

namespace {

using Rule = JsonSchema::Rule;

template <size_t N>
void add_type(const config::Node& n, const TypeName (&table)[N], Rule& rule) {
  if (n.is_string()) {
    const std::string& name = n.json().get_ref<const std::string&>();
    for (const auto& t : table) {
      if (t.name != name) continue;
      rule.types |= t.bits;
      if (!rule.type_text.empty()) rule.type_text += " or ";
      rule.type_text += name;
      return;
    }
  }
  std::string list;
  for (const auto& t : table) {
    if (!list.empty()) list += ", ";
    list += "\"" + std::string(t.name) + "\"";
  }
  n.fail("one of " + list);
}

// "type": "number" or ["number", "null"]; the same for "bsonType" with BSON names.
void parse_types(const config::Node& node, bool bson, Rule& rule) {
  auto one = [&](const config::Node& n) {
    if (bson) {
      add_type(n, kBsonTypes, rule);
    } else {
      add_type(n, kJsonTypes, rule);
    }
  };
  if (node.is_array()) {
    node.expect_array(true);
    for (size_t i = 0; i < node.size(); ++i) one(node.at(i));
  } else {
    one(node);
  }
  rule.type_keyword = bson ? "bsonType" : "type";
}

Value number_of(const config::Node& node) {
  if (!node.is_number()) node.fail("a number");
  return node.as_value();
}

std::unique_ptr<Rule> compile_rule(const config::Node& node, std::string rule_path) {
  node.expect_object();
  auto rule = std::make_unique<Rule>();
  rule->path = std::move(rule_path);
  std::optional<config::Node> type_node;
  std::optional<config::Node> bson_type_node;
  std::optional<config::Node> exclusive_min_flag;  // draft 4: "exclusiveMinimum": true
  std::optional<config::Node> exclusive_max_flag;
  for (auto it = node.json().begin(); it != node.json().end(); ++it) {
    const std::string& key = it.key();
    config::Node child(it.value(), node.path() + "/" + config::pointer_escape(key));
    if (key == "type") {
      type_node = child;
    } else if (key == "bsonType") {
      bson_type_node = child;
    } else if (key == "required") {
      child.expect_array(true);
      for (size_t i = 0; i < child.size(); ++i) rule->required.push_back(child.at(i).as_string());
    } else if (key == "properties") {
      child.expect_object();
      for (auto p = child.json().begin(); p != child.json().end(); ++p) {
        std::string escaped = config::pointer_escape(p.key());
        config::Node sub(p.value(), child.path() + "/" + escaped);
        rule->properties.emplace_back(p.key(),
                                      compile_rule(sub, rule->path + "/properties/" + escaped));
      }
    } else if (key == "additionalProperties") {
      if (!child.json().is_boolean()) {
        child.fail("true or false (schemas for additionalProperties are not supported)");
      }
      rule->additional_properties = child.as_bool();
    } else if (key == "enum") {
      child.expect_array(true);
      rule->enum_values.reserve(child.size());
      for (size_t i = 0; i < child.size(); ++i) rule->enum_values.push_back(child.at(i).as_value());
      Value all = Value::array();
      for (const auto& e : rule->enum_values) all.push_back(e);
      rule->enum_text = short_json(all);
    } else if (key == "minimum") {
      rule->minimum = number_of(child);
    } else if (key == "maximum") {
      rule->maximum = number_of(child);
    } else if (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
      bool min = key == "exclusiveMinimum";
      if (child.json().is_boolean()) {
        (min ? exclusive_min_flag : exclusive_max_flag) = child;
      } else if (child.is_number()) {
        (min ? rule->exclusive_minimum : rule->exclusive_maximum) = child.as_value();
      } else {
        child.fail("a number (or true to make " + std::string(min ? "minimum" : "maximum") +
                   " exclusive)");
      }
    } else if (key == "minLength") {
      rule->min_length = static_cast<size_t>(child.as_int(0, INT32_MAX));
    } else if (key == "maxLength") {
      rule->max_length = static_cast<size_t>(child.as_int(0, INT32_MAX));
    } else if (key == "title" || key == "description") {
      child.as_string();
    } else {
      throw config::ConfigError(child.path(), "unsupported JSON Schema keyword \"" + key +
                                                  "\", expected one of " + std::string(kKeywords));
    }
  }
  if (type_node && bson_type_node) {
    throw config::ConfigError(bson_type_node->path(),
                              "type and bsonType cannot both be given, expected one of them");
  }
  if (type_node) parse_types(*type_node, false, *rule);
  if (bson_type_node) parse_types(*bson_type_node, true, *rule);
  auto make_exclusive = [](const std::optional<config::Node>& flag, std::optional<Value>& bound,
                           std::optional<Value>& exclusive, std::string_view bound_name) {
    if (!flag || !flag->as_bool()) return;
    if (!bound) {
      flag->fail("a number, or true together with \"" + std::string(bound_name) + "\"");
    }
    exclusive = std::move(bound);
    bound.reset();
  };
  make_exclusive(exclusive_min_flag, rule->minimum, rule->exclusive_minimum, "minimum");
  make_exclusive(exclusive_max_flag, rule->maximum, rule->exclusive_maximum, "maximum");
  return rule;
}

}  // namespace

JsonSchema::JsonSchema(const config::Node& schema) : root_(compile_rule(schema, "")) {}
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;
JsonSchema::~JsonSchema() = default;

bool JsonSchema::validate(const Value& doc, std::string& detail) const {
  return root_->check(doc, nullptr, detail);
}

}  // namespace weir::pipeline
