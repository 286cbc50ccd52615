// The MongoDB query language subset used by $match: field equality and comparison
// operators with MongoDB's array and type-bracketing rules, $and/$or/$nor and $expr.
#pragma once

#include <memory>

#include "config/node.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

class Matcher {
 public:
  virtual ~Matcher() = default;
  virtual bool matches(const Value& doc) const = 0;
};

// Compiles a query object such as {"temp": {"$gt": 30}, "$or": [...]}. Supported:
// {field: value} (equality; an array field matches when it or any element equals),
// {field: {$eq $ne $gt $gte $lt $lte $in $nin $exists $not}}, top-level $and $or $nor
// (non-empty arrays of queries), $expr (an aggregation expression, truthy) and $comment.
// Throws config::ConfigError naming the JSON path of the offending part.
std::unique_ptr<Matcher> compile_match(const config::Node& query);

}  // namespace weir::pipeline
