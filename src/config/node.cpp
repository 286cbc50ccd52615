#include "config/node.hpp"

#include <cmath>

namespace weir::config {

std::string pointer_escape(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

std::string describe(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

namespace {
template <typename J>
Value convert(const J& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      Value v = Value::array();
      for (const auto& e : j) v.push_back(convert(e));
      return v;
    }
    case nlohmann::json::value_t::object: {
      Value v = Value::object();
      for (auto it = j.begin(); it != j.end(); ++it) v.set(it.key(), convert(it.value()));
      return v;
    }
    default: return Value();
  }
}
}  // namespace

Value to_value(const Json& j) { return convert(j); }
Value to_value(const nlohmann::json& j) { return convert(j); }

void Node::fail(std::string_view expected) const {
  throw ConfigError(path_, "got " + describe(*json_) + ", expected " + std::string(expected));
}

std::optional<Node> Node::get(std::string_view key) const {
  expect_object();
  auto it = json_->find(key);
  if (it == json_->end()) return std::nullopt;
  return Node(owner_, *it, path_ + "/" + pointer_escape(key));
}

Node Node::at(std::string_view key) const {
  auto child = get(key);
  if (!child) {
    throw ConfigError(path_ + "/" + pointer_escape(key),
                      "missing required option \"" + std::string(key) + "\"");
  }
  return *child;
}

Node Node::at(size_t index) const {
  return Node(owner_, (*json_)[index], path_ + "/" + std::to_string(index));
}

const Node& Node::expect_object() const {
  if (!json_->is_object()) fail("an object");
  return *this;
}

const Node& Node::expect_array(bool non_empty) const {
  if (!json_->is_array()) fail(non_empty ? "a non-empty array" : "an array");
  if (non_empty && json_->empty()) fail("a non-empty array");
  return *this;
}

std::string Node::as_string() const {
  if (!json_->is_string()) fail("a string");
  return json_->get<std::string>();
}

std::string Node::as_nonempty_string() const {
  if (!json_->is_string() || json_->get_ref<const std::string&>().empty()) {
    fail("a non-empty string");
  }
  return json_->get<std::string>();
}

int64_t Node::as_int() const {
  if (json_->is_number_integer()) return json_->get<int64_t>();
  if (json_->is_number_float()) {
    double d = json_->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  fail("an integer");
}

int64_t Node::as_int(int64_t min, int64_t max) const {
  if (!json_->is_number()) {
    fail("an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  int64_t v = as_int();
  if (v < min || v > max) {
    fail("an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

double Node::as_number() const {
  if (!json_->is_number()) fail("a number");
  return json_->get<double>();
}

bool Node::as_bool() const {
  if (!json_->is_boolean()) fail("true or false");
  return json_->get<bool>();
}

std::string Node::as_enum(std::initializer_list<std::string_view> allowed) const {
  std::string list;
  for (auto a : allowed) {
    if (!list.empty()) list += ", ";
    list += "\"" + std::string(a) + "\"";
  }
  if (!json_->is_string()) fail("one of " + list);
  std::string s = json_->get<std::string>();
  for (auto a : allowed) {
    if (s == a) return s;
  }
  fail("one of " + list);
}

TimeMs Node::as_duration(bool allow_zero) const {
  if (!json_->is_object()) fail("a duration such as {\"size\": 10, \"unit\": \"second\"}");
  for (auto it = json_->begin(); it != json_->end(); ++it) {
    if (it.key() != "size" && it.key() != "unit") {
      throw ConfigError(path_ + "/" + pointer_escape(it.key()),
                        "unknown option \"" + it.key() + "\", expected \"size\" or \"unit\"");
    }
  }
  Node size = at("size");
  int64_t n = size.as_int(allow_zero ? 0 : 1, int64_t{1} << 40);
  std::string unit = at("unit").as_enum({"ms", "second", "minute", "hour", "day"});
  int64_t scale = unit == "ms" ? 1 : unit == "second" ? 1000 : unit == "minute" ? 60000
                : unit == "hour" ? 3600000 : 86400000;
  if (n > (int64_t{1} << 52) / scale) size.fail("a duration of at most 10^5 years");
  return n * scale;
}

Value Node::as_value() const { return to_value(*json_); }

std::string Node::single_operator_key(std::string_view what) const {
  if (!json_->is_object() || json_->size() != 1 || json_->begin().key().empty() ||
      json_->begin().key()[0] != '$') {
    fail("an object with a single " + std::string(what) + " such as {\"$match\": {...}}");
  }
  return json_->begin().key();
}

void Node::check_options(const ComponentInfo& info) const {
  expect_object();
  for (auto it = json_->begin(); it != json_->end(); ++it) {
    bool known = false;
    for (const auto& opt : info.options) known = known || opt.name == it.key();
    if (!known) {
      std::string list;
      for (const auto& opt : info.options) {
        if (!list.empty()) list += ", ";
        list += "\"" + std::string(opt.name) + "\"";
      }
      throw ConfigError(path_ + "/" + pointer_escape(it.key()),
                        "unknown option \"" + it.key() + "\" for " + std::string(info.name) +
                            ", expected one of " + list);
    }
  }
  for (const auto& opt : info.options) {
    if (opt.required && !json_->contains(opt.name)) {
      throw ConfigError(path_ + "/" + pointer_escape(opt.name),
                        "missing required option \"" + std::string(opt.name) + "\" of " +
                            std::string(info.name) + " (" + std::string(opt.description) + ")");
    }
  }
}

std::string Node::string_or(std::string_view key, std::string_view fallback) const {
  auto c = get(key);
  return c ? c->as_string() : std::string(fallback);
}

int64_t Node::int_or(std::string_view key, int64_t fallback, int64_t min, int64_t max) const {
  auto c = get(key);
  return c ? c->as_int(min, max) : fallback;
}

bool Node::bool_or(std::string_view key, bool fallback) const {
  auto c = get(key);
  return c ? c->as_bool() : fallback;
}

}  // namespace weir::config
