// A JSON Schema subset (as in MongoDB's $jsonSchema) compiled once and checked per record
// without exceptions or allocations unless a rule fails.
#pragma once

#include <memory>
#include <string>

#include "config/node.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

// Keywords: type (a name or an array of names: object, array, string, number, integer,
// boolean, null), bsonType (int, long, double, number, string, bool, object, array, null),
// required, properties, additionalProperties (true or false), enum, minimum, maximum,
// exclusiveMinimum / exclusiveMaximum (a number, or true to make minimum / maximum
// exclusive), minLength, maxLength, and the annotations title and description. Keywords
// of one type are ignored for values of other types, as in JSON Schema.
class JsonSchema {
 public:
  // Throws config::ConfigError naming the JSON path of an unsupported or invalid keyword.
  explicit JsonSchema(const config::Node& schema);
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;
  ~JsonSchema();

  // True when doc conforms. Otherwise false, and detail holds the first failure with the
  // data location and the rule's path in the schema:
  //   /temp: 130 is above maximum 125 (rule /properties/temp/maximum)
  //   missing required field "ts" (rule /required)
  bool validate(const Value& doc, std::string& detail) const;

  struct Rule;

 private:
  std::unique_ptr<Rule> root_;
};

}  // namespace weir::pipeline
