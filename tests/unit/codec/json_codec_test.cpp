#include "codec/json/json_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/codec/codec_test_support.hpp"

namespace weir::codec {
namespace {

using test::typed;
using test::typed_all;

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// {"a":[[...[]...]]} with `depth` containers in all.
std::string nested_in_object(size_t depth) { return "{\"a\":" + nested_arrays(depth - 1) + "}"; }

// {"k0":0,"k1":1,...} with n members.
std::string wide_object(int n) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",";
    out += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  return out + "}";
}

std::string wide_object_typed(int n) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",";
    out += "\"k" + std::to_string(i) + "\":i" + std::to_string(i);
  }
  return out + "}";
}

struct GoodCase {
  const char* name;
  std::string payload;
  std::vector<std::string> readings;  // typed renderings, see codec_test_support.hpp
};
void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<GoodCase>& good_cases() {
  static const std::vector<GoodCase> kCases = {
      {"flat_object",
       R"({"id":"s-1","t":21.5,"n":7,"ok":true,"off":false,"x":null})",
       {R"({"id":"s-1","t":d21.5,"n":i7,"ok":true,"off":false,"x":null})"}},
      {"array_of_objects",
       R"([{"a":1},{"a":2.0},{}])",
       {R"({"a":i1})", R"({"a":d2})", "{}"}},
      {"empty_array_gives_no_readings", "[]", {}},
      {"nested_values",
       R"({"a":{"b":[1,"x",{"c":false},[],{}],"d":null}})",
       {R"({"a":{"b":[i1,"x",{"c":false},[],{}],"d":null}})"}},
      {"number_kinds",
       R"({"max":9223372036854775807,"min":-9223372036854775808,)"
       R"("u64":18446744073709551615,"huge":100000000000000000000000000000,)"
       R"("zero":-0,"exp":1e3,"frac":-0.5,"small":2.5e-3})",
       {R"({"max":i9223372036854775807,"min":i-9223372036854775808,)"
        R"("u64":d18446744073709551616,"huge":d1e+29,)"
        R"("zero":i0,"exp":d1000,"frac":d-0.5,"small":d0.0025})"}},
      {"string_escapes_and_unicode",
       R"({"s":"q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00","raw":"é😀"})",
       {"{\"s\":\"q\\\"b\\\\s/n\\nt\\tu\xc3\xa9\xf0\x9f\x98\x80\","
        "\"raw\":\"\xc3\xa9\xf0\x9f\x98\x80\"}"}},
      {"escaped_key", R"({"a\u0062":1})", {R"({"ab":i1})"}},
      {"surrounding_whitespace", " \t\r\n{\"a\":1}\n ", {R"({"a":i1})"}},
      {"repeated_key_keeps_last_value", R"({"a":1,"b":2,"a":3})", {R"({"a":i3,"b":i2})"}},
      {"depth_64_is_accepted", nested_in_object(64),
       {"{\"a\":" + nested_arrays(63) + "}"}},
      {"1024_members_are_accepted", wide_object(1024), {wide_object_typed(1024)}},
  };
  return kCases;
}
// clang-format on

class JsonGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(JsonGoodTest, DecodesEveryFieldWithItsType) {
  const GoodCase& c = GetParam();
  JsonCodec codec;
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out), c.readings);
  EXPECT_EQ(error, "");
}

INSTANTIATE_TEST_SUITE_P(Table, JsonGoodTest, ::testing::ValuesIn(good_cases()), test::CaseName());

struct BadCase {
  const char* name;
  std::string payload;
  std::string error;  // the exact error text
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> kCases = {
      {"empty", "", "invalid JSON: Empty: no JSON found"},
      {"only_whitespace", " \n\t ", "invalid JSON: Empty: no JSON found"},
      {"truncated_object", R"({"a":1)",
       "invalid JSON: JSON document ended early in the middle of an object or array."},
      {"truncated_string", R"({"a":"abc)", "invalid JSON: A string is opened, but never closed."},
      {"truncated_array_of_objects", R"([{"a":1},{"b")",
       "invalid JSON: JSON document ended early in the middle of an object or array."},
      {"trailing_garbage", R"({"a":1} x)",
       "invalid JSON: JSON document ended early in the middle of an object or array."},
      {"second_document", R"({"a":1}{"b":2})",
       "invalid JSON at byte 7: unexpected content after the end of the document"},
      {"trailing_number_after_scalar", "123 456",
       "invalid JSON: Unexpected trailing content in the JSON input."},
      {"missing_comma", R"({"a":1 "b":2})",
       "invalid JSON at byte 7: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"trailing_comma", R"([{"a":1},])",
       "invalid JSON at byte 10: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"bad_literal", R"({"a":tru})",
       "invalid JSON at byte 5: The JSON element does not have the requested type."},
      {"nan_literal", R"({"a":NaN})",
       "invalid JSON at byte 5: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"single_quotes", R"({'a':1})",
       "invalid JSON at byte 1: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"number_too_big", R"({"a":1e400})",
       "invalid JSON at byte 5: Problem while parsing a number"},
      {"bad_utf8_byte", "{\"a\":\"\xff\"}", "invalid JSON: The input is not valid UTF-8"},
      {"overlong_utf8", "{\"a\":\"\xc0\xaf\"}", "invalid JSON: The input is not valid UTF-8"},
      {"utf8_surrogate", "{\"a\":\"\xed\xa0\x80\"}", "invalid JSON: The input is not valid UTF-8"},
      {"utf8_in_key_cut_short", "{\"\xe2\x82\":1}", "invalid JSON: The input is not valid UTF-8"},
      {"depth_65", nested_in_object(65),
       "invalid JSON at byte 68: objects and arrays nested deeper than 64 levels"},
      {"deep_array_nesting", nested_arrays(5000),
       "invalid JSON at byte 64: objects and arrays nested deeper than 64 levels"},
      {"1025_members", "[{}," + wide_object(1025) + "]",
       "invalid JSON at byte 5: object with 1025 members (at most 1024)"},
      {"top_level_number", "42", "expected a JSON object or an array of objects, got number"},
      {"top_level_string", R"("hi")", "expected a JSON object or an array of objects, got string"},
      {"top_level_true", "true", "expected a JSON object or an array of objects, got boolean"},
      {"top_level_null", "null", "expected a JSON object or an array of objects, got null"},
      {"array_of_numbers", "[1,2]",
       "expected a JSON object or an array of objects, got an array with number at index 0"},
      {"array_with_a_non_object", R"([{"a":1},{"b":2},"x"])",
       "expected a JSON object or an array of objects, got an array with string at index 2"},
      {"array_of_arrays", R"([[{"a":1}]])",
       "expected a JSON object or an array of objects, got an array with array at index 0"},
  };
  return kCases;
}
// clang-format on

class JsonBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(JsonBadTest, IsMalformedAndLeavesOutAlone) {
  const BadCase& c = GetParam();
  JsonCodec codec;
  std::vector<Value> out;
  out.push_back(Value("earlier reading"));
  std::string error;
  EXPECT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(error, c.error);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(typed(out[0]), R"("earlier reading")");
}

INSTANTIATE_TEST_SUITE_P(Table, JsonBadTest, ::testing::ValuesIn(bad_cases()), test::CaseName());

TEST(JsonCodecTest, NameIsJson) { EXPECT_EQ(JsonCodec().name(), "json"); }

TEST(JsonCodecTest, AppendsToExistingReadings) {
  JsonCodec codec;
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec.decode(R"({"a":1})", DecodeContext{}, out, error), DecodeResult::kOk);
  ASSERT_EQ(codec.decode(R"([{"b":2},{"c":3}])", DecodeContext{}, out, error), DecodeResult::kOk);
  EXPECT_EQ(typed_all(out),
            (std::vector<std::string>{R"({"a":i1})", R"({"b":i2})", R"({"c":i3})"}));
}

// The padded buffer and the parser are reused: a short payload after a long one must see
// none of the long one's bytes.
TEST(JsonCodecTest, ReusesItsBufferSafely) {
  JsonCodec codec;
  std::vector<Value> out;
  std::string error;
  const std::string long_payload = R"({"a":")" + std::string(5000, 'x') + R"("})";
  ASSERT_EQ(codec.decode(long_payload, DecodeContext{}, out, error), DecodeResult::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].find("a")->as_string().size(), 5000u);

  out.clear();
  EXPECT_EQ(codec.decode(R"({"a":"xx)", DecodeContext{}, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(error, "invalid JSON: A string is opened, but never closed.");
  EXPECT_TRUE(out.empty());

  for (int i = 0; i < 100; ++i) {
    out.clear();
    const std::string payload = R"({"i":)" + std::to_string(i) + "}";
    ASSERT_EQ(codec.decode(payload, DecodeContext{}, out, error), DecodeResult::kOk) << error;
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(typed(out[0]), R"({"i":i)" + std::to_string(i) + "}");
  }
}

// parse() takes any JSON document, scalars included (the SenML codec builds on it).
TEST(JsonCodecTest, ParseAcceptsAnyDocument) {
  JsonCodec codec;
  std::string error;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"42", "i42"},
      {"-1.5", "d-1.5"},
      {R"("s")", R"("s")"},
      {"true", "true"},
      {"null", "null"},
      {"[1,[2]]", "[i1,[i2]]"},
      {"18446744073709551615", "d18446744073709551616"},
  };
  for (const auto& [payload, expected] : cases) {
    Value v;
    ASSERT_EQ(codec.parse(payload, v, error), DecodeResult::kOk) << payload << ": " << error;
    EXPECT_EQ(typed(v), expected) << payload;
  }
  Value v;
  EXPECT_EQ(codec.parse("nul", v, error), DecodeResult::kMalformed);
  EXPECT_EQ(error,
            "invalid JSON: Problem while parsing an atom starting with the letter 'n'");
}

}  // namespace
}  // namespace weir::codec
