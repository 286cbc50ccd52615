// Compiled $match queries and aggregation expressions, evaluated on one decoded reading.
// Compilation and decoding happen before the timed loop; the loop only evaluates.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec_registry.hpp"
#include "config/node.hpp"
#include "pipeline/expr/expression.hpp"
#include "pipeline/match/matcher.hpp"

namespace {

using namespace weir;

// A reading as the JSON decoder gives it, with the device name the topic adds and a
// nested "meta" object for the queries on nested fields.
const std::string kReading =
    R"({"ts":1767225600000,"temp":21.37,"hum":48.5,"seq":12345,"device":"dev-0042",)"
    R"("meta":{"fw":"2.4.1","status":"ok","battery":{"level":87,"voltage":3.71}}})";

// Decodes kReading with the production JSON decoder. False when it does not decode.
bool decode_reading(Value& out) {
  auto codec = codec::make_codec("json", CodecOptions{});
  std::vector<Value> readings;
  std::string error;
  if (codec->decode(kReading, DecodeContext{0}, readings, error) != DecodeResult::kOk ||
      readings.size() != 1) {
    return false;
  }
  out = std::move(readings[0]);
  return true;
}

// The usual range check of a sensor's plausible values: true for the reading.
constexpr std::string_view kRangeQuery = R"({"temp": {"$gte": -40, "$lt": 125}})";
// Three conditions on nested fields, none true for the reading, so all three are evaluated.
constexpr std::string_view kOrQuery =
    R"({"$or": [{"meta.battery.level": {"$lt": 20}}, {"meta.status": "fault"},)"
    R"( {"meta.fw": {"$ne": "2.4.1"}}]})";
// Ten devices, of which the reading's is the last.
constexpr std::string_view kInQuery =
    R"({"device": {"$in": ["dev-0001", "dev-0002", "dev-0003", "dev-0005", "dev-0008",)"
    R"( "dev-0013", "dev-0021", "dev-0034", "dev-0040", "dev-0042"]}})";

void BM_Match(benchmark::State& state, std::string_view query, bool expected) {
  Value doc;
  if (!decode_reading(doc)) {
    state.SkipWithError("setup: the reading does not decode");
    return;
  }
  const config::Json json = config::Json::parse(query);
  const std::unique_ptr<pipeline::Matcher> matcher =
      pipeline::compile_match(config::Node(json, "/pipelines/0/pipeline/1/$match"));
  if (matcher->matches(doc) != expected) {
    state.SkipWithError("setup: the query gives the wrong answer for the reading");
    return;
  }
  for (auto _ : state) {
    bool result = matcher->matches(doc);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Match, range_gte_lt, kRangeQuery, true);
BENCHMARK_CAPTURE(BM_Match, or_3_nested_all_false, kOrQuery, false);
BENCHMARK_CAPTURE(BM_Match, in_10_values_last, kInQuery, true);

// Celsius to Fahrenheit, as in the README's $addFields.
constexpr std::string_view kFahrenheit = R"({"$add": [{"$multiply": ["$temp", 1.8]}, 32]})";
constexpr std::string_view kCond =
    R"({"$cond": {"if": {"$gte": ["$temp", 30]}, "then": "hot", "else": "normal"}})";

// The expected results, checked before timing.
bool is_fahrenheit(const Value& v) {
  return v.is_number() && std::fabs(v.as_double() - 70.466) < 1e-9;
}
bool is_normal(const Value& v) { return v.is_string() && v.as_string() == "normal"; }

void BM_Expression(benchmark::State& state, std::string_view expression,
                   bool (*expected)(const Value&)) {
  Value doc;
  if (!decode_reading(doc)) {
    state.SkipWithError("setup: the reading does not decode");
    return;
  }
  const config::Json json = config::Json::parse(expression);
  const std::unique_ptr<pipeline::Expression> expr =
      pipeline::compile_expression(config::Node(json, "/pipelines/0/pipeline/2/$addFields/x"));
  Value scratch;
  if (!expected(expr->eval(doc, scratch))) {
    state.SkipWithError("setup: the expression gives the wrong value for the reading");
    return;
  }
  for (auto _ : state) {
    const Value& result = expr->eval(doc, scratch);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Expression, add_multiply_fahrenheit, kFahrenheit, &is_fahrenheit);
BENCHMARK_CAPTURE(BM_Expression, cond_gte, kCond, &is_normal);

}  // namespace
