// weir_project: $addFields / $set and $project, table-driven.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/project/add_fields_stage.hpp"
#include "pipeline/project/project_stage.hpp"

namespace weir::pipeline {
namespace {

using nlohmann::json;

// Compact JSON where a double always shows as one: 68.0 -> "68.0", an int 68 -> "68".
void append_typed(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kDouble: {
      std::string d;
      append_json_double(d, v.as_double());
      if (d.find_first_of(".e") == std::string::npos) d += ".0";
      out += d;
      break;
    }
    case Value::Type::kArray:
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        append_typed(out, v.at(i));
      }
      out += ']';
      break;
    case Value::Type::kObject:
      out += '{';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, v.key(i));
        out += ':';
        append_typed(out, v.at(i));
      }
      out += '}';
      break;
    default:
      v.append_json(out);
  }
}

class NullContext final : public StageContext {
 public:
  void forward(Record&&) override {}
  void reject(std::string_view, std::string_view) override {}
  TimeMs now() const override { return 0; }
};

using StageMaker = std::unique_ptr<Operator> (*)(const config::Node&, const StageBuildContext&);

// Builds the stage from spec, runs one document through it (twice, to check that state
// reused between records does not leak) and returns the typed JSON of the result.
std::string run(StageMaker make, const char* spec_text, const char* doc_text) {
  json spec = json::parse(spec_text);
  auto stage = make(config::Node(spec, "/p"), {"test", 0, "", {}});
  NullContext ctx;
  std::string first;
  for (int round = 0; round < 2; ++round) {
    Record r;
    r.doc = config::to_value(json::parse(doc_text));
    EXPECT_EQ(stage->process(r, ctx), StageResult::kPass);
    std::string out;
    append_typed(out, r.doc);
    if (round == 0) {
      first = out;
    } else {
      EXPECT_EQ(out, first) << "second record differs";
    }
  }
  return first;
}

struct StageCase {
  const char* spec;
  const char* doc;
  const char* want;
};

void PrintTo(const StageCase& c, std::ostream* os) { *os << c.spec << " on " << c.doc; }

class AddFields : public testing::TestWithParam<StageCase> {};

TEST_P(AddFields, SetsFields) {
  const StageCase& c = GetParam();
  EXPECT_EQ(run(make_add_fields, c.spec, c.doc), c.want);
}

// Note: nlohmann::json keeps object keys sorted, so input documents below list their keys
// in sorted order to keep the expected output readable.
const StageCase kAddFieldsCases[] = {
    {R"({"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}})", R"({"temp": 20})",
     R"({"temp":20,"tempF":68.0})"},
    {R"({"a.b": 1})", R"({"x": 1})", R"({"x":1,"a":{"b":1}})"},
    {R"({"a.b": 1})", R"({"a": {"c": 2}})", R"({"a":{"c":2,"b":1}})"},
    {R"({"a.b": 1})", R"({"a": 5})", R"({"a":{"b":1}})"},
    {R"({"a.b": "$x"})", R"({"a": [{"c": 1}, 2, []], "x": 9})",
     R"({"a":[{"c":1,"b":9},{"b":9},[]],"x":9})"},
    {R"({"a": "$b", "b": "$a"})", R"({"a": 1, "b": 2})", R"({"a":2,"b":1})"},
    {R"({"gone": "$nope"})", R"({"gone": 1, "k": 2})", R"({"k":2})"},
    {R"({"k": "$$REMOVE"})", R"({"k": 1, "z": 2})", R"({"z":2})"},
    {R"({"k.m": "$$REMOVE", "n": 1})", R"({"k": {"m": 1, "p": 2}})", R"({"k":{"p":2},"n":1})"},
    {R"({"n": null})", R"({"x": 1})", R"({"x":1,"n":null})"},
    {R"({"copy": "$o"})", R"({"o": {"p": 1}})", R"({"o":{"p":1},"copy":{"p":1}})"},
    {R"({"o": "$o.p"})", R"({"o": {"p": 1}})", R"({"o":1})"},
    {R"({"o": "$o.p", "q": "$o"})", R"({"o": {"p": 1}})", R"({"o":1,"q":{"p":1}})"},
    {R"({"label": {"$concat": ["$dev", "/", {"$toString": "$n"}]}})", R"({"dev": "d1", "n": 3})",
     R"({"dev":"d1","n":3,"label":"d1/3"})"},
    {R"({"ratio": {"$divide": ["$a", "$b"]}})", R"({"a": 1, "b": 0})",
     R"({"a":1,"b":0,"ratio":null})"},
    {R"({"lit": {"k": [1, "$a"]}})", R"({"a": 7})", R"({"a":7,"lit":{"k":[1,7]}})"},
};
INSTANTIATE_TEST_SUITE_P(Table, AddFields, testing::ValuesIn(kAddFieldsCases));

class Project : public testing::TestWithParam<StageCase> {};

TEST_P(Project, Projects) {
  const StageCase& c = GetParam();
  EXPECT_EQ(run(make_project, c.spec, c.doc), c.want);
}

const StageCase kProjectCases[] = {
    // Inclusion keeps _id (first) and the named fields in the record's order.
    {R"({"a": 1})", R"({"_id": 7, "a": 1, "b": 2})", R"({"_id":7,"a":1})"},
    {R"({"a": 1, "_id": 0})", R"({"_id": 7, "a": 1, "b": 2})", R"({"a":1})"},
    {R"({"a": true, "c": 1})", R"({"a": 1, "b": 2, "c": 3})", R"({"a":1,"c":3})"},
    {R"({"_id": 1})", R"({"_id": 1, "a": 2})", R"({"_id":1})"},
    {R"({"x": 1})", R"({"y": 1})", R"({})"},
    // Exclusion removes the named fields only.
    {R"({"a": 0})", R"({"_id": 1, "a": 1, "b": 2})", R"({"_id":1,"b":2})"},
    {R"({"a": false, "c": 0})", R"({"a": 1, "b": 2, "c": 3})", R"({"b":2})"},
    {R"({"_id": 0})", R"({"_id": 1, "a": 1, "b": 2})", R"({"a":1,"b":2})"},
    {R"({"_id": 0, "b": 0})", R"({"_id": 1, "a": 1, "b": 2})", R"({"a":1})"},
    {R"({"_id": 1, "b": 0})", R"({"_id": 1, "a": 1, "b": 2})", R"({"_id":1,"a":1})"},
    {R"({"nope": 0})", R"({"a": 1})", R"({"a":1})"},
    // Nested paths, as dotted keys or nested objects, through arrays too.
    {R"({"o.p": 1})", R"({"o": {"p": 1, "q": 2}, "r": 3})", R"({"o":{"p":1}})"},
    {R"({"o": {"p": 1}})", R"({"o": {"p": 1, "q": 2}, "r": 3})", R"({"o":{"p":1}})"},
    {R"({"o.p": 1})", R"({"o": {"q": 2}})", R"({"o":{}})"},
    {R"({"o.p": 1})", R"({"o": 5})", R"({})"},
    {R"({"o.p": 0})", R"({"o": {"p": 1, "q": 2}, "r": 3})", R"({"o":{"q":2},"r":3})"},
    {R"({"o.p": 1})", R"({"o": [{"p": 1, "q": 2}, 5, {"q": 3}]})", R"({"o":[{"p":1},{}]})"},
    {R"({"o.p": 0})", R"({"o": [{"p": 1, "q": 2}, 5, {"q": 3}]})", R"({"o":[{"q":2},5,{"q":3}]})"},
    // Computed fields come after the included ones and see the incoming record.
    {R"({"f": {"$multiply": ["$c", 1.8]}, "c": 1})", R"({"_id": 1, "c": 10, "x": 0})",
     R"({"_id":1,"c":10,"f":18.0})"},
    {R"({"a": 1, "b": "$a"})", R"({"a": 5})", R"({"a":5,"b":5})"},
    {R"({"a": "$o", "o": 1})", R"({"o": {"k": [1, 2]}})", R"({"o":{"k":[1,2]},"a":{"k":[1,2]}})"},
    {R"({"m.sum": {"$add": ["$a", "$b"]}})", R"({"a": 1, "b": 2, "m": {"k": 1}})",
     R"({"m":{"sum":3}})"},
    {R"({"m.sum": {"$add": [1, 2]}, "m.k": 1})", R"({"m": {"k": 1, "z": 0}})",
     R"({"m":{"k":1,"sum":3}})"},
    {R"({"m.sum": 3})", R"({"a": 1, "m": {"sum": 9, "x": 1}})", R"({"m":{"sum":9}})"},
    {R"({"m.sum": {"$literal": 3}})", R"({"m": 7})", R"({"m":{"sum":3}})"},
    {R"({"o.t": "$x"})", R"({"o": [{"p": 1}, 5], "x": 2})", R"({"o":[{"t":2},{"t":2}]})"},
    {R"({"a": 1, "g": "$nope"})", R"({"a": 1})", R"({"a":1})"},
    {R"({"label": "hot"})", R"({"a": 1})", R"({"label":"hot"})"},
    {R"({"_id": "$dev", "t": 1})", R"({"_id": 1, "dev": "d1", "t": 5})", R"({"t":5,"_id":"d1"})"},
};
INSTANTIATE_TEST_SUITE_P(Table, Project, testing::ValuesIn(kProjectCases));

TEST(AddFields, SetIsAnAliasAndBothDescribeThemselves) {
  EXPECT_EQ(add_fields_info().name, "$addFields");
  EXPECT_EQ(set_info().name, "$set");
  EXPECT_TRUE(add_fields_info().options.empty());
  EXPECT_FALSE(add_fields_info().description.empty());
  EXPECT_EQ(project_info().name, "$project");
  EXPECT_TRUE(project_info().options.empty());
  EXPECT_FALSE(project_info().description.empty());
}

// Invalid specs: the ConfigError names the exact JSON path.
struct InvalidSpec {
  StageMaker make;
  const char* spec;
  const char* path;
  const char* message_start;
};

void PrintTo(const InvalidSpec& c, std::ostream* os) { *os << c.spec; }

class ProjectInvalid : public testing::TestWithParam<InvalidSpec> {};

TEST_P(ProjectInvalid, ThrowsConfigErrorAtPath) {
  const InvalidSpec& c = GetParam();
  json spec = json::parse(c.spec);
  try {
    c.make(config::Node(spec, "/p"), {"test", 0, "", {}});
    FAIL() << "no ConfigError for " << c.spec;
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.path(), c.path);
    EXPECT_EQ(e.message().rfind(c.message_start, 0), 0u) << e.what();
  }
}

const InvalidSpec kInvalidSpecs[] = {
    {make_add_fields, "{}", "/p", "got {}, expected an object with at least one field"},
    {make_add_fields, "[]", "/p", "got [], expected an object"},
    {make_add_fields, R"({"a": {"$mul": 1}})", "/p/a", R"(unknown expression operator "$mul")"},
    {make_add_fields, R"({"a": {"$add": [1, {"$cond": [1]}]}})", "/p/a/$add/1/$cond",
     "got [1], expected [if, then, else]"},
    {make_add_fields, R"({"a": 2, "a.b": 1})", "/p/a.b", R"(path "a.b" collides with "a")"},
    {make_add_fields, R"({"$x": 1})", "/p/$x", R"(invalid field path "$x")"},
    {make_add_fields, R"({"a..b": 1})", "/p/a..b", R"(invalid field path "a..b")"},
    {make_project, "{}", "/p", "got {}, expected an object with at least one field"},
    {make_project, R"("a")", "/p", R"(got "a", expected an object)"},
    {make_project, R"({"a": 1, "b": 0})", "/p/b",
     R"("b" is excluded but "a" is included: a $project either keeps)"},
    {make_project, R"({"a": 0, "b": 1})", "/p/b", R"("a" is excluded but "b" is included)"},
    {make_project, R"({"a": 0, "b": "$x"})", "/p/b", R"("a" is excluded but "b" is computed)"},
    {make_project, R"({"_id": 0, "a": 0, "o": {"p": 1}})", "/p/o/p",
     R"("a" is excluded but "o.p" is included)"},
    {make_project, R"({"a": {}})", "/p/a", "got {}, expected 1, 0, true, false, an expression"},
    {make_project, R"({"a": 1, "a.b": 1})", "/p/a.b", R"(path "a.b" collides with "a")"},
    {make_project, R"({"a": {"b": 1}, "a.b": 0})", "/p/a.b", R"(path "a.b" collides with "a.b")"},
    {make_project, R"({"$a": 1})", "/p/$a", R"(invalid field path "$a")"},
    {make_project, R"({"a": {"$bogus": 1}})", "/p/a", R"(unknown expression operator "$bogus")"},
    {make_project, R"({"a": {"b": {"$add": 1, "x": 2}}})", "/p/a/b", "got {"},
};
INSTANTIATE_TEST_SUITE_P(Table, ProjectInvalid, testing::ValuesIn(kInvalidSpecs));

}  // namespace
}  // namespace weir::pipeline
