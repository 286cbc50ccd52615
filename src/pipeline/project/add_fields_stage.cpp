#include "pipeline/project/add_fields_stage.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/expr/expression.hpp"
#include "pipeline/project/field_paths.hpp"

namespace weir::pipeline {
namespace {

struct FieldSpec {
  FieldPath path;
  std::unique_ptr<Expression> expr;
};

class AddFieldsStage final : public Operator {
 public:
  explicit AddFieldsStage(std::vector<FieldSpec> fields)
      : fields_(std::move(fields)), results_(fields_.size()), missing_(fields_.size(), 0) {}

  StageResult process(Record& record, StageContext& ctx) override {
    (void)ctx;
    Value& doc = record.doc;
    if (fields_.size() == 1) {
      Value scratch;
      const Value& v = fields_[0].expr->eval(doc, scratch);
      apply(doc, fields_[0].path, v, scratch);
      return StageResult::kPass;
    }
    // Every expression sees the incoming record: evaluate all, then assign.
    for (size_t k = 0; k < fields_.size(); ++k) {
      const Value& v = fields_[k].expr->eval(doc, results_[k]);
      missing_[k] = is_missing(v) ? 1 : 0;
      if (&v != &results_[k] && !missing_[k]) results_[k] = v;
    }
    for (size_t k = 0; k < fields_.size(); ++k) {
      if (missing_[k]) {
        remove_path(doc, fields_[k].path);
      } else {
        set_path(doc, fields_[k].path, std::exchange(results_[k], Value()));
      }
    }
    return StageResult::kPass;
  }

 private:
  // v is the result of an expression evaluated with scratch: a part of doc, a constant or
  // scratch itself.
  static void apply(Value& doc, const FieldPath& path, const Value& v, Value& scratch) {
    if (is_missing(v)) {
      remove_path(doc, path);
      return;
    }
    Value owned = &v == &scratch ? std::move(scratch) : Value(v);  // copy before doc changes
    set_path(doc, path, std::move(owned));
  }

  std::vector<FieldSpec> fields_;
  std::vector<Value> results_;  // per field, reused from record to record
  std::vector<uint8_t> missing_;
};

}  // namespace

const ComponentInfo& add_fields_info() {
  static const ComponentInfo kInfo{
      "$addFields",
      "Sets fields to the values of aggregation expressions: {\"tempF\": {\"$add\": "
      "[{\"$multiply\": [\"$temp\", 1.8]}, 32]}}. Dotted paths create nested objects; an "
      "expression that evaluates to a missing field removes the field.",
      {}};
  return kInfo;
}

const ComponentInfo& set_info() {
  static const ComponentInfo kInfo{"$set", "An alias of $addFields.", {}};
  return kInfo;
}

std::unique_ptr<Operator> make_add_fields(const config::Node& spec, const StageBuildContext& ctx) {
  (void)ctx;
  spec.expect_object();
  if (spec.size() == 0) spec.fail("an object with at least one field such as {\"a\": \"$b\"}");
  std::vector<FieldSpec> fields;
  fields.reserve(spec.size());
  for (auto it = spec.json().begin(); it != spec.json().end(); ++it) {
    config::Node child(it.value(), spec.path() + "/" + config::pointer_escape(it.key()));
    FieldPath path = parse_field_path(it.key(), child);
    for (const auto& other : fields) {
      if (paths_collide(path, other.path)) {
        throw config::ConfigError(child.path(), "path \"" + path.str() + "\" collides with \"" +
                                                    other.path.str() +
                                                    "\": a stage sets a field only once");
      }
    }
    fields.push_back({std::move(path), compile_expression(child)});
  }
  return std::make_unique<AddFieldsStage>(std::move(fields));
}

}  // namespace weir::pipeline
