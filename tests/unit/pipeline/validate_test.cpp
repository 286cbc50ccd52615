// weir_validate: the JSON Schema subset and the $validate stage, table-driven.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/validate/json_schema.hpp"
#include "pipeline/validate/validate_stage.hpp"

namespace weir::pipeline {
namespace {

using nlohmann::json;

constexpr const char* kReadingSchema = R"({
  "bsonType": "object",
  "required": ["device", "ts"],
  "properties": {
    "device": {"bsonType": "string", "minLength": 2, "maxLength": 8},
    "temp": {"bsonType": "number", "minimum": -40, "maximum": 125, "description": "deg C"},
    "hum": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
    "mode": {"enum": ["auto", "manual"]},
    "count": {"type": "integer"},
    "ts": {"type": ["integer", "string"]},
    "note": {"type": ["string", "null"]},
    "a/b": {"type": "boolean"},
    "meta": {
      "type": "object",
      "required": ["fw"],
      "properties": {"fw": {"type": "string"}, "rssi": {"bsonType": "int", "maximum": 0}},
      "additionalProperties": false
    }
  }
})";

struct SchemaCase {
  const char* doc;
  const char* want;  // "" when the document conforms, otherwise the exact detail
  const char* schema = kReadingSchema;
};

void PrintTo(const SchemaCase& c, std::ostream* os) { *os << c.doc; }

class Schema : public testing::TestWithParam<SchemaCase> {};

TEST_P(Schema, Validates) {
  const SchemaCase& c = GetParam();
  json j = json::parse(c.schema);
  JsonSchema schema(config::Node(j, "/s"));
  std::string detail;
  bool ok = schema.validate(config::to_value(json::parse(c.doc)), detail);
  EXPECT_EQ(ok, c.want[0] == '\0');
  EXPECT_EQ(ok ? std::string() : detail, c.want);
}

const SchemaCase kSchemaCases[] = {
    {R"({"device": "d1", "ts": 1})", ""},
    {R"({"device": "d1", "ts": "2024-01-01T00:00:00Z", "temp": 21.5, "hum": 50.5, "mode": "auto",
        "count": 3, "note": null, "a/b": true, "meta": {"fw": "1.2", "rssi": -70}, "extra": 1})",
     ""},
    {R"({"device": "d1", "ts": 1, "temp": 130})",
     "/temp: 130 is above maximum 125 (rule /properties/temp/maximum)"},
    {R"({"device": "d1", "ts": 1, "temp": 125.5})",
     "/temp: 125.5 is above maximum 125 (rule /properties/temp/maximum)"},
    {R"({"device": "d1", "ts": 1, "temp": 125})", ""},
    {R"({"device": "d1", "ts": 1, "temp": -40})", ""},
    {R"({"device": "d1", "ts": 1, "temp": -41})",
     "/temp: -41 is below minimum -40 (rule /properties/temp/minimum)"},
    {R"({"device": "d1", "ts": 1, "temp": "hot"})",
     R"(/temp: "hot" is string, expected number (rule /properties/temp/bsonType))"},
    {R"({"device": "d1"})", R"(missing required field "ts" (rule /required))"},
    {R"({"ts": 1})", R"(missing required field "device" (rule /required))"},
    {R"({"device": "x", "ts": 1})",
     R"(/device: "x" is shorter than minLength 2 (rule /properties/device/minLength))"},
    {"{\"device\": \"\xC3\xA9\", \"ts\": 1}",
     "/device: \"\xC3\xA9\" is shorter than minLength 2 (rule /properties/device/minLength)"},
    {"{\"device\": \"\xC3\xA9\xC3\xA9\", \"ts\": 1}", ""},
    {R"({"device": "abcdefghi", "ts": 1})",
     R"(/device: "abcdefghi" is longer than maxLength 8 (rule /properties/device/maxLength))"},
    {R"({"device": 7, "ts": 1})",
     R"(/device: 7 is integer, expected string (rule /properties/device/bsonType))"},
    {R"({"device": "d1", "ts": 1, "hum": 0})",
     "/hum: 0 is not above exclusiveMinimum 0 (rule /properties/hum/exclusiveMinimum)"},
    {R"({"device": "d1", "ts": 1, "hum": 100})",
     "/hum: 100 is not below exclusiveMaximum 100 (rule /properties/hum/exclusiveMaximum)"},
    {R"({"device": "d1", "ts": 1, "hum": 99.9})", ""},
    {R"({"device": "d1", "ts": 1, "mode": "x"})",
     R"(/mode: "x" is not one of ["auto","manual"] (rule /properties/mode/enum))"},
    {R"({"device": "d1", "ts": 1, "mode": 1})",
     R"(/mode: 1 is not one of ["auto","manual"] (rule /properties/mode/enum))"},
    {R"({"device": "d1", "ts": 1, "count": 3.0})", ""},
    {R"({"device": "d1", "ts": 1, "count": 3.5})",
     "/count: 3.5 is number, expected integer (rule /properties/count/type)"},
    {R"({"device": "d1", "ts": true})",
     "/ts: true is boolean, expected integer or string (rule /properties/ts/type)"},
    {R"({"device": "d1", "ts": 1, "note": 5})",
     "/note: 5 is integer, expected string or null (rule /properties/note/type)"},
    {R"({"device": "d1", "ts": 1, "a/b": 1})",
     "/a~1b: 1 is integer, expected boolean (rule /properties/a~1b/type)"},
    {R"({"device": "d1", "ts": 1, "meta": {}})",
     R"(/meta: missing required field "fw" (rule /properties/meta/required))"},
    {R"({"device": "d1", "ts": 1, "meta": {"fw": "1", "x": 1}})",
     R"(/meta/x: field "x" is not allowed (rule /properties/meta/additionalProperties))"},
    {R"({"device": "d1", "ts": 1, "meta": {"fw": 1}})",
     "/meta/fw: 1 is integer, expected string (rule /properties/meta/properties/fw/type)"},
    {R"({"device": "d1", "ts": 1, "meta": {"fw": "1", "rssi": -70.5}})",
     "/meta/rssi: -70.5 is number, expected int (rule /properties/meta/properties/rssi/bsonType)"},
    {R"({"device": "d1", "ts": 1, "meta": {"fw": "1", "rssi": 3}})",
     "/meta/rssi: 3 is above maximum 0 (rule /properties/meta/properties/rssi/maximum)"},
    {R"({"device": "d1", "ts": 1, "meta": [1]})",
     "/meta: [1] is array, expected object (rule /properties/meta/type)"},
    // Other schemas: bsonType double, draft-4 boolean exclusiveMinimum, root additionalProperties.
    {R"({"d": 1})", "/d: 1 is integer, expected double (rule /properties/d/bsonType)",
     R"({"properties": {"d": {"bsonType": "double"}}})"},
    {R"({"d": 1.5})", "", R"({"properties": {"d": {"bsonType": "double"}}})"},
    {R"({"v": 5})", "/v: 5 is not above exclusiveMinimum 5 (rule /properties/v/exclusiveMinimum)",
     R"({"properties": {"v": {"minimum": 5, "exclusiveMinimum": true}}})"},
    {R"({"v": 5.01})", "", R"({"properties": {"v": {"minimum": 5, "exclusiveMinimum": true}}})"},
    {R"({"v": 5})", "", R"({"properties": {"v": {"minimum": 5, "exclusiveMinimum": false}}})"},
    {R"({"k": 1, "z": 2})", R"(/z: field "z" is not allowed (rule /additionalProperties))",
     R"({"properties": {"k": {}}, "additionalProperties": false})"},
    {R"({"big": 9223372036854775807})",
     "/big: 9223372036854775807 is above maximum 9223372036854775806 (rule "
     "/properties/big/maximum)",
     R"({"properties": {"big": {"maximum": 9223372036854775806}}})"},
    {R"({"k": "str"})", "", R"({"properties": {"k": {"minimum": 3, "maxLength": 5}}})"},
    {R"({"k": 7})", "", R"({"properties": {"k": {"minimum": 3, "maxLength": 5}}})"},
};
INSTANTIATE_TEST_SUITE_P(Table, Schema, testing::ValuesIn(kSchemaCases));

class RecordingContext final : public StageContext {
 public:
  void forward(Record&&) override {}
  void reject(std::string_view reason, std::string_view detail) override {
    reasons.emplace_back(reason);
    details.emplace_back(detail);
  }
  TimeMs now() const override { return 0; }

  std::vector<std::string> reasons;
  std::vector<std::string> details;
};

StageResult run(const char* spec_text, const char* doc_text, RecordingContext& ctx) {
  json spec = json::parse(spec_text);
  auto stage = make_validate(config::Node(spec, "/pipelines/0/pipeline/1/$validate"), {"p", 1, "", {}});
  Record r;
  r.doc = config::to_value(json::parse(doc_text));
  return stage->process(r, ctx);
}

constexpr const char* kTempSchema =
    R"("validator": {"$jsonSchema": {"required": ["ts"],
        "properties": {"temp": {"minimum": -40, "maximum": 125}}}})";

TEST(ValidateStage, DeadLettersByDefaultWithRuleAndLocation) {
  RecordingContext ctx;
  std::string spec = std::string("{") + kTempSchema + "}";
  EXPECT_EQ(run(spec.c_str(), R"({"ts": 1, "temp": 20})", ctx), StageResult::kPass);
  EXPECT_EQ(run(spec.c_str(), R"({"ts": 1, "temp": 130})", ctx), StageResult::kDeadLetter);
  EXPECT_EQ(run(spec.c_str(), R"({"temp": 20})", ctx), StageResult::kDeadLetter);
  ASSERT_EQ(ctx.reasons, (std::vector<std::string>{"validation", "validation"}));
  EXPECT_EQ(ctx.details[0], "/temp: 130 is above maximum 125 (rule /properties/temp/maximum)");
  EXPECT_EQ(ctx.details[1], R"(missing required field "ts" (rule /required))");
}

TEST(ValidateStage, ExplicitDlqAndDiscard) {
  RecordingContext ctx;
  std::string dlq = std::string("{") + kTempSchema + R"(, "validationAction": "dlq"})";
  std::string discard = std::string("{") + kTempSchema + R"(, "validationAction": "discard"})";
  EXPECT_EQ(run(dlq.c_str(), R"({"ts": 1, "temp": -50})", ctx), StageResult::kDeadLetter);
  EXPECT_EQ(run(discard.c_str(), R"({"ts": 1, "temp": -50})", ctx), StageResult::kDrop);
  EXPECT_EQ(run(discard.c_str(), R"({"ts": 1, "temp": 0})", ctx), StageResult::kPass);
  ASSERT_EQ(ctx.details.size(), 1u);
  EXPECT_EQ(ctx.details[0], "/temp: -50 is below minimum -40 (rule /properties/temp/minimum)");
}

TEST(ValidateStage, ReusesTheStageAcrossRecords) {
  json spec = json::parse(std::string("{") + kTempSchema + "}");
  auto stage = make_validate(config::Node(spec, "/v"), {"p", 0, "", {}});
  RecordingContext ctx;
  const std::pair<const char*, StageResult> cases[] = {
      {R"({"ts": 1, "temp": 200})", StageResult::kDeadLetter},
      {R"({"ts": 1})", StageResult::kPass},
      {R"({"ts": 1, "temp": -41})", StageResult::kDeadLetter},
  };
  for (const auto& [doc, want] : cases) {
    Record r;
    r.doc = config::to_value(json::parse(doc));
    EXPECT_EQ(stage->process(r, ctx), want) << doc;
  }
  EXPECT_EQ(ctx.details, (std::vector<std::string>{
                             "/temp: 200 is above maximum 125 (rule /properties/temp/maximum)",
                             "/temp: -41 is below minimum -40 (rule /properties/temp/minimum)"}));
}

TEST(ValidateStage, DescribesItsOptions) {
  const ComponentInfo& info = validate_info();
  EXPECT_EQ(info.name, "$validate");
  ASSERT_EQ(info.options.size(), 2u);
  EXPECT_EQ(info.options[0].name, "validator");
  EXPECT_EQ(info.options[0].type, OptionType::kObject);
  EXPECT_TRUE(info.options[0].required);
  EXPECT_EQ(info.options[1].name, "validationAction");
  EXPECT_EQ(info.options[1].type, OptionType::kString);
  EXPECT_FALSE(info.options[1].required);
  EXPECT_EQ(info.options[1].default_value, "dlq");
}

// Invalid $validate specs: the ConfigError names the exact JSON path.
struct InvalidValidate {
  const char* spec;
  const char* path;
  const char* message_start;
};

void PrintTo(const InvalidValidate& c, std::ostream* os) { *os << c.spec; }

class ValidateInvalid : public testing::TestWithParam<InvalidValidate> {};

TEST_P(ValidateInvalid, ThrowsConfigErrorAtPath) {
  const InvalidValidate& c = GetParam();
  json spec = json::parse(c.spec);
  try {
    make_validate(config::Node(spec, "/v"), {"p", 0, "", {}});
    FAIL() << "no ConfigError for " << c.spec;
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.path(), c.path);
    EXPECT_EQ(e.message().rfind(c.message_start, 0), 0u) << e.what();
  }
}

const InvalidValidate kInvalidValidate[] = {
    {R"({"validator": {"$jsonSchema": {"items": {}}}})", "/v/validator/$jsonSchema/items",
     R"(unsupported JSON Schema keyword "items", expected one of type, bsonType, required,)"},
    {R"({"validator": {"$jsonSchema": {"properties": {"a": {"format": "x"}}}}})",
     "/v/validator/$jsonSchema/properties/a/format", R"(unsupported JSON Schema keyword "format")"},
    {R"({"validator": {"$jsonSchema": {"properties": {"a/b": {"pattern": "x"}}}}})",
     "/v/validator/$jsonSchema/properties/a~1b/pattern",
     R"(unsupported JSON Schema keyword "pattern")"},
    {R"({"validator": {"$jsonSchema": {"properties": {"a": 5}}}})",
     "/v/validator/$jsonSchema/properties/a", "got 5, expected an object"},
    {R"({"validator": {"$jsonSchema": {"type": "float"}}})", "/v/validator/$jsonSchema/type",
     R"(got "float", expected one of "object", "array", "string", "number", "integer", )"
     R"("boolean", "null")"},
    {R"({"validator": {"$jsonSchema": {"type": ["string", "float"]}}})",
     "/v/validator/$jsonSchema/type/1", R"(got "float", expected one of)"},
    {R"({"validator": {"$jsonSchema": {"type": []}}})", "/v/validator/$jsonSchema/type",
     "got [], expected a non-empty array"},
    {R"({"validator": {"$jsonSchema": {"bsonType": "decimal"}}})",
     "/v/validator/$jsonSchema/bsonType", R"(got "decimal", expected one of "int", "long",)"},
    {R"({"validator": {"$jsonSchema": {"type": "object", "bsonType": "object"}}})",
     "/v/validator/$jsonSchema/bsonType", "type and bsonType cannot both be given"},
    {R"({"validator": {"$jsonSchema": {"required": []}}})", "/v/validator/$jsonSchema/required",
     "got [], expected a non-empty array"},
    {R"({"validator": {"$jsonSchema": {"required": ["a", 1]}}})",
     "/v/validator/$jsonSchema/required/1", "got 1, expected a string"},
    {R"({"validator": {"$jsonSchema": {"minimum": "5"}}})", "/v/validator/$jsonSchema/minimum",
     R"(got "5", expected a number)"},
    {R"({"validator": {"$jsonSchema": {"exclusiveMaximum": "5"}}})",
     "/v/validator/$jsonSchema/exclusiveMaximum", R"(got "5", expected a number)"},
    {R"({"validator": {"$jsonSchema": {"exclusiveMinimum": true}}})",
     "/v/validator/$jsonSchema/exclusiveMinimum",
     R"(got true, expected a number, or true together with "minimum")"},
    {R"({"validator": {"$jsonSchema": {"minLength": -1}}})", "/v/validator/$jsonSchema/minLength",
     "got -1, expected an integer from 0 to"},
    {R"({"validator": {"$jsonSchema": {"maxLength": 1.5}}})", "/v/validator/$jsonSchema/maxLength",
     "got 1.5, expected an integer"},
    {R"({"validator": {"$jsonSchema": {"additionalProperties": {}}}})",
     "/v/validator/$jsonSchema/additionalProperties", "got {}, expected true or false"},
    {R"({"validator": {"$jsonSchema": {"enum": []}}})", "/v/validator/$jsonSchema/enum",
     "got [], expected a non-empty array"},
    {R"({"validator": {"$jsonSchema": []}})", "/v/validator/$jsonSchema",
     "got [], expected an object"},
    {R"({"validator": {}})", "/v/validator/$jsonSchema",
     R"(missing required option "$jsonSchema")"},
    {R"({"validator": {"temp": {"$gt": 1}}})", "/v/validator/temp",
     R"(unsupported validator "temp", expected {"$jsonSchema": {...}})"},
    {R"({"validator": 5})", "/v/validator", "got 5, expected an object"},
    {R"({"validationAction": "dlq"})", "/v/validator",
     R"(missing required option "validator" of $validate)"},
    {R"({"validator": {"$jsonSchema": {}}, "validationAction": "warn"})", "/v/validationAction",
     R"(got "warn", expected one of "dlq", "discard")"},
    {R"({"validator": {"$jsonSchema": {}}, "validationLevel": "strict"})", "/v/validationLevel",
     R"(unknown option "validationLevel" for $validate, expected one of "validator", )"
     R"("validationAction")"},
    {R"([])", "/v", "got [], expected an object"},
};
INSTANTIATE_TEST_SUITE_P(Table, ValidateInvalid, testing::ValuesIn(kInvalidValidate));

}  // namespace
}  // namespace weir::pipeline
