// A JSON value of the config together with its JSON pointer, so that every error names
// the place it comes from: "/pipelines/0/pipeline/3/$tumblingWindow/interval/size".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config_error.hpp"
#include "weir/component.hpp"
#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir::config {

// Config JSON keeps the order of object members as written, so outputs ($group fields,
// computed fields) come out in the order the user wrote them.
using Json = nlohmann::ordered_json;

class Node {
 public:
  Node(const Json& json, std::string path) : json_(&json), path_(std::move(path)) {}
  // Convenience for tests and tools that hold a plain nlohmann::json: keeps a copy.
  Node(const nlohmann::json& json, std::string path)
      : owner_(std::make_shared<const Json>(json)), json_(owner_.get()), path_(std::move(path)) {}

  const Json& json() const noexcept { return *json_; }
  const std::string& path() const noexcept { return path_; }

  bool is_object() const noexcept { return json_->is_object(); }
  bool is_array() const noexcept { return json_->is_array(); }
  bool is_string() const noexcept { return json_->is_string(); }
  bool is_number() const noexcept { return json_->is_number(); }

  // Child by key; nullopt when absent. Throws when this node is not an object.
  std::optional<Node> get(std::string_view key) const;
  // Child by key; throws "missing required option" when absent.
  Node at(std::string_view key) const;
  // Array element.
  Node at(size_t index) const;
  size_t size() const noexcept { return json_->size(); }

  // Checks and conversions; each throws ConfigError naming this path, the value and
  // what was expected.
  const Node& expect_object() const;
  const Node& expect_array(bool non_empty = false) const;
  std::string as_string() const;
  std::string as_nonempty_string() const;
  int64_t as_int() const;
  int64_t as_int(int64_t min, int64_t max) const;
  double as_number() const;
  bool as_bool() const;
  // One of the given words.
  std::string as_enum(std::initializer_list<std::string_view> allowed) const;
  // {"size": N, "unit": "ms|second|minute|hour|day"} -> milliseconds (> 0 unless allow_zero).
  TimeMs as_duration(bool allow_zero = false) const;
  // The JSON value as a weir::Value.
  Value as_value() const;

  // An object with exactly one key that starts with '$' (a stage or an operator):
  // returns that key. Throws otherwise.
  std::string single_operator_key(std::string_view what) const;

  // Rejects keys not named in the component's option table, and checks required ones.
  void check_options(const ComponentInfo& info) const;

  // Helpers for typed optional options.
  std::string string_or(std::string_view key, std::string_view fallback) const;
  int64_t int_or(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  bool bool_or(std::string_view key, bool fallback) const;

  [[noreturn]] void fail(std::string_view expected) const;

 private:
  Node(std::shared_ptr<const Json> owner, const Json& json, std::string path)
      : owner_(std::move(owner)), json_(&json), path_(std::move(path)) {}
  std::shared_ptr<const Json> owner_;  // set only when this node owns a converted copy
  const Json* json_;
  std::string path_;
};

// Escapes a key for a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string pointer_escape(std::string_view key);
// A short rendering of a JSON value for messages (long values are cut).
std::string describe(const Json& j);
// JSON -> weir::Value (integers stay integers, member order kept).
Value to_value(const Json& j);
Value to_value(const nlohmann::json& j);

}  // namespace weir::config
