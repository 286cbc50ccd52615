// weir_expr: aggregation expressions, table-driven. Results are rendered with their number
// types visible (doubles always carry ".0" or an exponent) so that int/double matter.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"

namespace weir::pipeline {
namespace {

using nlohmann::json;

// Compact JSON where a double always shows as one: 3.0 -> "3.0", an int 3 -> "3".
void append_typed(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kDouble: {
      std::string d;
      append_json_double(d, v.as_double());
      if (!std::isfinite(v.as_double())) d = "<non-finite>";
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

std::string typed(const Value& v) {
  if (is_missing(v)) return "<missing>";
  std::string out;
  append_typed(out, v);
  return out;
}

constexpr const char* kDoc = R"({
  "a": 5, "b": 2, "x": 2.5, "s": "hi", "n": null, "t": true, "zero": 0,
  "o": {"p": {"q": 7}}, "arr": [1, 5, 3], "objs": [{"v": 1}, {"v": 2}, {"w": 3}],
  "big": 9223372036854775807, "small": -9223372036854775808
})";

struct ExprCase {
  const char* expr;
  const char* want;  // typed JSON, or "<missing>"
  const char* doc = kDoc;
};

void PrintTo(const ExprCase& c, std::ostream* os) { *os << c.expr; }

std::string evaluate(const char* expr_text, const char* doc_text) {
  json j = json::parse(expr_text);
  auto e = compile_expression(config::Node(j, "/e"));
  Value doc = config::to_value(json::parse(doc_text));
  Value scratch;
  return typed(e->eval(doc, scratch));
}

class ExpressionEval : public testing::TestWithParam<ExprCase> {};

TEST_P(ExpressionEval, Evaluates) {
  const ExprCase& c = GetParam();
  EXPECT_EQ(evaluate(c.expr, c.doc), c.want);
}

const ExprCase kFieldsAndLiterals[] = {
    {R"("$a")", "5"},
    {R"("$o.p.q")", "7"},
    {R"("$o.p")", R"({"q":7})"},
    {R"("$nope")", "<missing>"},
    {R"("$a.b")", "<missing>"},
    {R"("$n")", "null"},
    {R"("$objs.v")", "[1,2]"},
    {R"("$arr")", "[1,5,3]"},
    {R"("$$ROOT")", R"({"k":1})", R"({"k":1})"},
    {R"("$$ROOT.a")", "5"},
    {R"("$$CURRENT.s")", R"("hi")"},
    {R"("$$REMOVE")", "<missing>"},
    {R"("plain")", R"("plain")"},
    {"42", "42"},
    {"1.5", "1.5"},
    {"true", "true"},
    {"null", "null"},
    {R"({"$literal": "$a"})", R"("$a")"},
    {R"({"$literal": {"$add": [1]}})", R"({"$add":[1]})"},
    {R"({"k": "$a", "m": {"n": "$s"}, "gone": "$nope"})", R"({"k":5,"m":{"n":"hi"}})"},
    {R"({"k": 1, "m": [true]})", R"({"k":1,"m":[true]})"},
    {R"(["$a", "$nope", 1])", "[5,null,1]"},
    {"{}", "{}"},
    {"[]", "[]"},
};
INSTANTIATE_TEST_SUITE_P(FieldsAndLiterals, ExpressionEval, testing::ValuesIn(kFieldsAndLiterals));

const ExprCase kArithmetic[] = {
    {R"({"$add": [1, 2]})", "3"},
    {R"({"$add": ["$a", "$x"]})", "7.5"},
    {R"({"$add": ["$a", 1.0]})", "6.0"},
    {R"({"$add": []})", "0"},
    {R"({"$add": "$a"})", "5"},
    {R"({"$add": ["$a", null]})", "null"},
    {R"({"$add": ["$a", "$nope"]})", "null"},
    {R"({"$add": ["$a", "$n"]})", "null"},
    {R"({"$add": ["$a", "$s"]})", "null"},
    {R"({"$add": ["$big", -1]})", "9223372036854775806"},
    {R"({"$add": ["$big", 1]})", "9223372036854775808.0"},
    {R"({"$add": ["$big", 1, -1]})", "9223372036854775808.0"},
    {R"({"$subtract": [10, "$a"]})", "5"},
    {R"({"$subtract": ["$x", 1]})", "1.5"},
    {R"({"$subtract": ["$small", 1]})", "-9223372036854775808.0"},
    {R"({"$subtract": ["$a", null]})", "null"},
    {R"({"$subtract": ["$s", 1]})", "null"},
    {R"({"$multiply": [2, "$a"]})", "10"},
    {R"({"$multiply": [2, "$x"]})", "5.0"},
    {R"({"$multiply": ["$big", 2]})", "18446744073709551616.0"},
    {R"({"$multiply": []})", "1"},
    {R"({"$multiply": ["$a", "$nope"]})", "null"},
    {R"({"$divide": [10, 4]})", "2.5"},
    {R"({"$divide": [10, 5]})", "2.0"},
    {R"({"$divide": ["$a", 0]})", "null"},
    {R"({"$divide": ["$a", 0.0]})", "null"},
    {R"({"$divide": ["$a", "$zero"]})", "null"},
    {R"({"$divide": [null, 2]})", "null"},
    {R"({"$divide": ["$s", 2]})", "null"},
    {R"({"$abs": -5})", "5"},
    {R"({"$abs": [-2.5]})", "2.5"},
    {R"({"$abs": "$small"})", "9223372036854775808.0"},
    {R"({"$abs": null})", "null"},
    {R"({"$abs": "$nope"})", "null"},
    {R"({"$abs": "$s"})", "null"},
    {R"({"$add": [{"$multiply": ["$a", 1.8]}, 32]})", "41.0"},
};
INSTANTIATE_TEST_SUITE_P(Arithmetic, ExpressionEval, testing::ValuesIn(kArithmetic));

const ExprCase kRound[] = {
    {R"({"$round": [2.5]})", "2.0"},
    {R"({"$round": 2.5})", "2.0"},
    {R"({"$round": [3.5]})", "4.0"},
    {R"({"$round": [-2.5]})", "-2.0"},
    {R"({"$round": [0.5]})", "0.0"},
    {R"({"$round": [1.5]})", "2.0"},
    {R"({"$round": [19.25, 1]})", "19.2"},
    {R"({"$round": [19.35, 1]})", "19.4"},
    {R"({"$round": [28.73, 1]})", "28.7"},
    {R"({"$round": [-45.39, 1]})", "-45.4"},
    {R"({"$round": [2.675, 2]})", "2.67"},
    {R"({"$round": [1.005, 2]})", "1.0"},
    {R"({"$round": [9.995, 2]})", "9.99"},
    {R"({"$round": [9.5]})", "10.0"},
    {R"({"$round": [99.96, 1]})", "100.0"},
    {R"({"$round": [-0.4]})", "0.0"},
    {R"({"$round": [0.004, 2]})", "0.0"},
    {R"({"$round": [0.006, 2]})", "0.01"},
    {R"({"$round": [0.0004, 2]})", "0.0"},
    {R"({"$round": [1e300, 2]})", "1e+300"},
    {R"({"$round": [123456.789, 1]})", "123456.8"},
    {R"({"$round": [0.125, 2]})", "0.12"},
    {R"({"$round": [1234.5678, -2]})", "1200.0"},
    {R"({"$round": [1250, -2]})", "1200"},
    {R"({"$round": [1350, -2]})", "1400"},
    {R"({"$round": [-1250, -2]})", "-1200"},
    {R"({"$round": [-1251, -2]})", "-1300"},
    {R"({"$round": [7, 2]})", "7"},
    {R"({"$round": ["$big", -1]})", "9223372036854775808.0"},
    {R"({"$round": ["$x", "$b"]})", "2.5"},
    {R"({"$round": [2.5, "$s"]})", "null"},
    {R"({"$round": [null]})", "null"},
    {R"({"$round": ["$s"]})", "null"},
};
INSTANTIATE_TEST_SUITE_P(Round, ExpressionEval, testing::ValuesIn(kRound));

const ExprCase kMinMax[] = {
    {R"({"$max": [1, "$a", 3]})", "5"},
    {R"({"$min": [1, "$a", 3]})", "1"},
    {R"({"$max": [1, null, "$nope"]})", "1"},
    {R"({"$min": [null, "$nope"]})", "null"},
    {R"({"$max": "$arr"})", "5"},
    {R"({"$min": ["$arr"]})", "1"},
    {R"({"$max": [1, "s"]})", R"("s")"},
    {R"({"$min": [2, 1.5]})", "1.5"},
    {R"({"$max": ["$x", "$a"]})", "5"},
    {R"({"$max": [{"$add": [1, 1]}, {"$add": [1, 2]}, 0]})", "3"},
    {R"({"$min": [{"$add": [1, 1]}, {"$add": [1, 2]}, 9]})", "2"},
    {R"({"$max": "$nope"})", "null"},
    {R"({"$max": "$objs.v"})", "2"},
};
INSTANTIATE_TEST_SUITE_P(MinMax, ExpressionEval, testing::ValuesIn(kMinMax));

const ExprCase kConditionals[] = {
    {R"({"$cond": [true, "yes", "no"]})", R"("yes")"},
    {R"({"$cond": [{"$gt": ["$a", 3]}, "hot", "cold"]})", R"("hot")"},
    {R"({"$cond": {"if": {"$lt": ["$a", 3]}, "then": "cold", "else": "hot"}})", R"("hot")"},
    {R"({"$cond": {"if": "$n", "then": 1, "else": 2}})", "2"},
    {R"({"$cond": {"if": "$nope", "then": 1, "else": 2}})", "2"},
    {R"({"$cond": [0, 1, 2]})", "2"},
    {R"({"$cond": ["", 1, 2]})", "1"},
    {R"({"$cond": [[], 1, 2]})", "1"},
    {R"({"$cond": ["$o", "$o.p.q", 0]})", "7"},
    {R"({"$ifNull": ["$nope", "$n", "dflt"]})", R"("dflt")"},
    {R"({"$ifNull": ["$a", 0]})", "5"},
    {R"({"$ifNull": ["$zero", 1]})", "0"},
    {R"({"$ifNull": [false, 1]})", "false"},
    {R"({"$ifNull": ["$n", "$nope"]})", "<missing>"},
    {R"({"$ifNull": [{"$add": ["$a", 1]}, 0]})", "6"},
};
INSTANTIATE_TEST_SUITE_P(Conditionals, ExpressionEval, testing::ValuesIn(kConditionals));

const ExprCase kComparisons[] = {
    {R"({"$eq": ["$a", 5]})", "true"},
    {R"({"$eq": ["$a", 5.0]})", "true"},
    {R"({"$eq": ["$x", 2.5]})", "true"},
    {R"({"$eq": ["$a", "5"]})", "false"},
    {R"({"$ne": ["$a", 5]})", "false"},
    {R"({"$ne": ["$a", 6]})", "true"},
    {R"({"$gt": ["$a", 4]})", "true"},
    {R"({"$gt": ["$a", 5]})", "false"},
    {R"({"$gte": ["$a", 5]})", "true"},
    {R"({"$lt": ["$a", 5]})", "false"},
    {R"({"$lte": ["$a", 5]})", "true"},
    {R"({"$gt": ["$s", 5]})", "true"},
    {R"({"$lt": ["$n", 0]})", "true"},
    {R"({"$gt": ["$t", "$s"]})", "true"},
    {R"({"$eq": ["$n", null]})", "true"},
    {R"({"$eq": ["$nope", null]})", "false"},
    {R"({"$lt": ["$nope", null]})", "true"},
    {R"({"$eq": ["$nope", "$alsoNope"]})", "true"},
    {R"({"$eq": [[1, 2], [1, 2]]})", "true"},
    {R"({"$eq": ["$o", {"p": {"q": 7}}]})", "true"},
    {R"({"$and": [true, 1, "x"]})", "true"},
    {R"({"$and": [true, 0]})", "false"},
    {R"({"$and": []})", "true"},
    {R"({"$and": ["$n"]})", "false"},
    {R"({"$or": [false, null, "$nope"]})", "false"},
    {R"({"$or": [0, "$a"]})", "true"},
    {R"({"$or": []})", "false"},
    {R"({"$not": ["$a"]})", "false"},
    {R"({"$not": "$zero"})", "true"},
    {R"({"$not": [null]})", "true"},
    {R"({"$not": "$nope"})", "true"},
};
INSTANTIATE_TEST_SUITE_P(Comparisons, ExpressionEval, testing::ValuesIn(kComparisons));

const ExprCase kStrings[] = {
    {R"({"$concat": ["$s", "-", "x"]})", R"("hi-x")"},
    {R"({"$concat": []})", R"("")"},
    {R"({"$concat": ["$s", null]})", "null"},
    {R"({"$concat": ["$s", "$nope"]})", "null"},
    {R"({"$concat": ["$s", 5]})", "null"},
    {R"({"$concat": ["$s", {"$toString": "$a"}]})", R"("hi5")"},
    {R"({"$toString": "$a"})", R"("5")"},
    {R"({"$toString": "$x"})", R"("2.5")"},
    {R"({"$toString": 3.0})", R"("3")"},
    {R"({"$toString": "$t"})", R"("true")"},
    {R"({"$toString": "$s"})", R"("hi")"},
    {R"({"$toString": "$big"})", R"("9223372036854775807")"},
    {R"({"$toString": null})", "null"},
    {R"({"$toString": "$nope"})", "null"},
    {R"({"$toString": "$o"})", "null"},
};
INSTANTIATE_TEST_SUITE_P(Strings, ExpressionEval, testing::ValuesIn(kStrings));

TEST(Expression, FieldPathReturnsAReferenceIntoTheDocument) {
  json j = "$o.p";
  auto e = compile_expression(config::Node(j, "/e"));
  Value doc = config::to_value(json::parse(kDoc));
  Value scratch;
  const Value& v = e->eval(doc, scratch);
  EXPECT_EQ(&v, doc.find("o")->find("p"));
  EXPECT_TRUE(scratch.is_null());
}

TEST(Expression, CompiledOnceEvaluatesManyDocuments) {
  json j = json::parse(R"({"$cond": [{"$gte": ["$t", 30]}, "hot", {"$toString": "$t"}]})");
  auto e = compile_expression(config::Node(j, "/e"));
  const std::pair<const char*, const char*> cases[] = {
      {R"({"t": 31})", R"("hot")"}, {R"({"t": 12})", R"("12")"}, {R"({})", "null"}};
  Value scratch;
  for (const auto& [doc_text, want] : cases) {
    Value doc = config::to_value(json::parse(doc_text));
    EXPECT_EQ(typed(e->eval(doc, scratch)), want) << doc_text;
  }
}

TEST(Expression, Truthiness) {
  const std::pair<const char*, bool> cases[] = {
      {"false", false}, {"null", false}, {"0", false},   {"0.0", false}, {"true", true},
      {"1", true},      {"-0.5", true},  {"\"\"", true}, {"[]", true},   {"{}", true},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(is_truthy(config::to_value(json::parse(text))), want) << text;
  }
  EXPECT_FALSE(is_truthy(missing_value()));
  EXPECT_TRUE(is_missing(missing_value()));
  EXPECT_FALSE(is_missing(Value()));
  EXPECT_FALSE(is_missing(null_value()));
}

// Invalid expressions: the ConfigError names the exact JSON path of the offending part.
struct InvalidExpr {
  const char* expr;
  const char* path;
  const char* message_start;
};

void PrintTo(const InvalidExpr& c, std::ostream* os) { *os << c.expr; }

class ExpressionInvalid : public testing::TestWithParam<InvalidExpr> {};

TEST_P(ExpressionInvalid, ThrowsConfigErrorAtPath) {
  const InvalidExpr& c = GetParam();
  json j = json::parse(c.expr);
  try {
    compile_expression(config::Node(j, "/e"));
    FAIL() << "no ConfigError for " << c.expr;
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.path(), c.path);
    EXPECT_EQ(e.message().rfind(c.message_start, 0), 0u) << e.what();
  }
}

const InvalidExpr kInvalidExpressions[] = {
    {R"({"$add": [1, {"$mul": [1, 2]}]})", "/e/$add/1",
     R"(unknown expression operator "$mul", expected one of $add, $subtract,)"},
    {R"({"$foo": 1})", "/e", R"(unknown expression operator "$foo")"},
    {R"({"$subtract": [1]})", "/e/$subtract",
     "got [1], expected an array of 2 expressions for $subtract"},
    {R"({"$subtract": 1})", "/e/$subtract", "got 1, expected an array of 2 expressions"},
    {R"({"$divide": [1, 2, 3]})", "/e/$divide", "got [1,2,3], expected an array of 2"},
    {R"({"$eq": [1]})", "/e/$eq", "got [1], expected an array of 2 expressions for $eq"},
    {R"({"$abs": [1, 2]})", "/e/$abs", "got [1,2], expected an array of 1 expression for $abs"},
    {R"({"$not": []})", "/e/$not", "got [], expected an array of 1 expression for $not"},
    {R"({"$min": []})", "/e/$min", "got [], expected an array of 1 or more expressions"},
    {R"({"$round": [1, 2, 3]})", "/e/$round", "got [1,2,3], expected an array of 1 to 2"},
    {R"({"$round": [1.5, 1.5]})", "/e/$round/1", "got 1.5, expected an integer place"},
    {R"({"$round": [1.5, 200]})", "/e/$round/1", "got 200, expected an integer place"},
    {R"({"$cond": {"if": true, "else": 1}})", "/e/$cond/then", R"(missing required option "then")"},
    {R"({"$cond": {"if": 1, "then": 1, "else": 2, "other": 3}})", "/e/$cond/other",
     R"(unknown argument "other" of $cond)"},
    {R"({"$cond": [1, 2]})", "/e/$cond", "got [1,2], expected [if, then, else]"},
    {R"({"$ifNull": ["$a"]})", "/e/$ifNull", "got [\"$a\"], expected an array of 2 or more"},
    {R"({"$ifNull": "$a"})", "/e/$ifNull", "got \"$a\", expected an array of 2 or more"},
    {R"({"$add": [1], "$multiply": [2]})", "/e", "got {"},
    {R"({"a": 1, "$add": [1]})", "/e", "got {"},
    {R"({"a.b": 1})", "/e/a.b", R"(invalid field name "a.b")"},
    {R"({"x": {"y": {"$bad": 1}}})", "/e/x/y", R"(unknown expression operator "$bad")"},
    {R"([1, {"$nope": 1}])", "/e/1", R"(unknown expression operator "$nope")"},
    {R"({"a/b": {"$zzz": 1}})", "/e/a~1b", R"(unknown expression operator "$zzz")"},
    {R"({"$add": [1, {"$cond": [true, {"$subtract": [1]}, 0]}]})", "/e/$add/1/$cond/1/$subtract",
     "got [1], expected an array of 2"},
    {R"("$")", "/e", "got \"$\", expected a field path"},
    {R"("$a..b")", "/e", "got \"$a..b\", expected a field path"},
    {R"("$$NOW")", "/e", "got \"$$NOW\", expected a field path"},
};
INSTANTIATE_TEST_SUITE_P(Table, ExpressionInvalid, testing::ValuesIn(kInvalidExpressions));

TEST(ExpressionInvalid, FullMessageNamesPathAndOperators) {
  json j = json::parse(R"({"$add": [{"$mul": ["$temp", 1.8]}, 32]})");
  try {
    compile_expression(config::Node(j, "/pipelines/0/pipeline/2/$addFields/tempF"));
    FAIL() << "no ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "/pipelines/0/pipeline/2/$addFields/tempF/$add/0: unknown expression operator "
                 "\"$mul\", expected one of $add, $subtract, $multiply, $divide, $abs, $round, "
                 "$min, $max, $cond, $ifNull, $eq, $ne, $gt, $gte, $lt, $lte, $and, $or, $not, "
                 "$concat, $toString, $literal");
  }
}

}  // namespace
}  // namespace weir::pipeline
