#include "pipeline/validate/validate_stage.hpp"

#include <string>
#include <utility>

#include "pipeline/validate/json_schema.hpp"

namespace weir::pipeline {
namespace {

enum class ValidationAction { kDeadLetter, kDiscard };

class ValidateStage final : public Operator {
 public:
  ValidateStage(JsonSchema schema, ValidationAction action)
      : schema_(std::move(schema)), action_(action) {}

  StageResult process(Record& record, StageContext& ctx) override {
    if (schema_.validate(record.doc, detail_)) return StageResult::kPass;
    if (action_ == ValidationAction::kDiscard) return StageResult::kDrop;
    ctx.reject("validation", detail_);
    return StageResult::kDeadLetter;
  }

 private:
  JsonSchema schema_;
  ValidationAction action_;
  std::string detail_;  // reused from record to record
};

constexpr OptionSpec kOptions[] = {
    {"validator", OptionType::kObject, true, "",
     "{\"$jsonSchema\": {...}}: the JSON Schema records must satisfy (type, bsonType, "
     "required, properties, additionalProperties, enum, minimum, maximum, exclusiveMinimum, "
     "exclusiveMaximum, minLength, maxLength)"},
    {"validationAction", OptionType::kString, false, "dlq",
     "what happens to a record that fails: \"dlq\" sends it to the dead-letter topic with "
     "the failed rule, \"discard\" drops it"},
};

}  // namespace

const ComponentInfo& validate_info() {
  static const ComponentInfo kInfo{
      "$validate",
      "Checks each record against a JSON Schema and sends those that fail to the "
      "dead-letter topic, or drops them.",
      kOptions};
  return kInfo;
}

std::unique_ptr<Operator> make_validate(const config::Node& spec, const StageBuildContext& ctx) {
  (void)ctx;
  spec.check_options(validate_info());
  config::Node validator = spec.at("validator");
  validator.expect_object();
  for (auto it = validator.json().begin(); it != validator.json().end(); ++it) {
    if (it.key() != "$jsonSchema") {
      throw config::ConfigError(
          validator.path() + "/" + config::pointer_escape(it.key()),
          "unsupported validator \"" + it.key() + "\", expected {\"$jsonSchema\": {...}}");
    }
  }
  JsonSchema schema(validator.at("$jsonSchema"));
  ValidationAction action = ValidationAction::kDeadLetter;
  if (auto a = spec.get("validationAction")) {
    action = a->as_enum({"dlq", "discard"}) == "discard" ? ValidationAction::kDiscard
                                                         : ValidationAction::kDeadLetter;
  }
  return std::make_unique<ValidateStage>(std::move(schema), action);
}

}  // namespace weir::pipeline
