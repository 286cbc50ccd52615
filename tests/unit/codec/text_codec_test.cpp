#include "codec/text/text_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "codec/codec_registry.hpp"
#include "unit/codec/codec_test_support.hpp"

namespace weir::codec {
namespace {

using test::typed;
using test::typed_all;

struct GoodCase {
  const char* name;
  std::string payload;
  std::string reading;  // typed rendering, see codec_test_support.hpp
};
void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<GoodCase>& good_cases() {
  static const std::vector<GoodCase> kCases = {
      {"integer", "42", R"({"value":i42})"},
      {"zero", "0", R"({"value":i0})"},
      {"negative_integer_with_whitespace", " -7 \n", R"({"value":i-7})"},
      {"all_ascii_whitespace", "\t\r\n\f\v 3 \t\r\n\f\v", R"({"value":i3})"},
      {"leading_zeros", "007", R"({"value":i7})"},
      {"plus_sign", "+5", R"({"value":i5})"},
      {"decimal", "21.5", R"({"value":d21.5})"},
      {"negative_fraction", "-0.5", R"({"value":d-0.5})"},
      {"exponent", "1e3", R"({"value":d1000})"},
      {"negative_exponent", "1E-3", R"({"value":d0.001})"},
      {"leading_dot", ".5", R"({"value":d0.5})"},
      {"trailing_dot", "5.", R"({"value":d5})"},
      {"int64_max", "9223372036854775807", R"({"value":i9223372036854775807})"},
      {"int64_min", "-9223372036854775808", R"({"value":i-9223372036854775808})"},
      {"past_int64_is_double", "9223372036854775808", R"({"value":d9223372036854775808})"},
      {"integral_double", "2.0", R"({"value":d2})"},
  };
  return kCases;
}
// clang-format on

class TextGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(TextGoodTest, DecodesOneNumber) {
  const GoodCase& c = GetParam();
  TextCodec codec{CodecOptions{}};
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out), std::vector<std::string>{c.reading});
}

INSTANTIATE_TEST_SUITE_P(Table, TextGoodTest, ::testing::ValuesIn(good_cases()), test::CaseName());

struct BadCase {
  const char* name;
  std::string payload;
  std::string error;  // the exact error text
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> kCases = {
      {"empty", "", R"(expected a plain number, got "")"},
      {"only_whitespace", " \n", R"(expected a plain number, got " \n")"},
      {"nan", "nan", R"(expected a plain number, got "nan")"},
      {"NaN", "NaN", R"(expected a plain number, got "NaN")"},
      {"inf", "inf", R"(expected a plain number, got "inf")"},
      {"negative_infinity", "-Infinity", R"(expected a plain number, got "-Infinity")"},
      {"trailing_letters", "12abc", R"(expected a plain number, got "12abc")"},
      {"hex", "0x10", R"(expected a plain number, got "0x10")"},
      {"two_numbers", "1 2", R"(expected a plain number, got "1 2")"},
      {"double_minus", "--1", R"(expected a plain number, got "--1")"},
      {"plus_minus", "+-1", R"(expected a plain number, got "+-1")"},
      {"dangling_exponent", "1e", R"(expected a plain number, got "1e")"},
      {"overflowing_double", "1e999", R"(expected a plain number, got "1e999")"},
      {"lone_dot", ".", R"(expected a plain number, got ".")"},
      {"lone_minus", "-", R"(expected a plain number, got "-")"},
      {"quoted_number", "\"5\"", R"(expected a plain number, got "\"5\"")"},
      {"json_object", R"({"value":5})", R"(expected a plain number, got "{\"value\":5}")"},
      {"number_with_unit", "21.5 \xc2\xb0" "C",
       R"(expected a plain number, got "21.5 \xc2\xb0C")"},
      {"control_bytes", std::string("1\x00\x01\x7f", 4),
       R"(expected a plain number, got "1\x00\x01\x7f")"},
      {"long_text_is_cut_at_32_chars", "0123456789abcdefghijklmnopqrstuvwxyz",
       R"(expected a plain number, got "0123456789abcdefghijklmnopqrstuv"...)"},
  };
  return kCases;
}
// clang-format on

class TextBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(TextBadTest, IsMalformed) {
  const BadCase& c = GetParam();
  TextCodec codec{CodecOptions{}};
  std::vector<Value> out;
  std::string error;
  EXPECT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(error, c.error);
  EXPECT_TRUE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, TextBadTest, ::testing::ValuesIn(bad_cases()), test::CaseName());

TEST(TextCodecTest, UsesTheConfiguredValueField) {
  CodecOptions opts;
  opts.value_field = "temperature";
  TextCodec codec(opts);
  EXPECT_EQ(codec.name(), "text");
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec.decode("21.5", DecodeContext{}, out, error), DecodeResult::kOk);
  ASSERT_EQ(codec.decode("22", DecodeContext{}, out, error), DecodeResult::kOk);
  EXPECT_EQ(typed_all(out),
            (std::vector<std::string>{R"({"temperature":d21.5})", R"({"temperature":i22})"}));
}

// The registry lives in codec_registry.hpp; its tests sit here with the smallest codec.
TEST(CodecRegistryTest, ListsTheBuiltInFormats) {
  const auto formats = codec_formats();
  EXPECT_EQ(std::vector<std::string_view>(formats.begin(), formats.end()),
            (std::vector<std::string_view>{"json", "cbor", "senml", "senml-cbor", "text"}));
}

TEST(CodecRegistryTest, MakesEveryListedFormat) {
  for (std::string_view format : codec_formats()) {
    auto codec = make_codec(format, CodecOptions{});
    ASSERT_NE(codec, nullptr) << format;
    EXPECT_EQ(codec->name(), format);
  }
}

TEST(CodecRegistryTest, UnknownFormatIsNull) {
  EXPECT_EQ(make_codec("xml", CodecOptions{}), nullptr);
  EXPECT_EQ(make_codec("", CodecOptions{}), nullptr);
  EXPECT_EQ(make_codec("JSON", CodecOptions{}), nullptr);
}

TEST(CodecRegistryTest, PassesOptionsToTheTextCodec) {
  CodecOptions opts;
  opts.value_field = "level";
  auto codec = make_codec("text", opts);
  ASSERT_NE(codec, nullptr);
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec->decode("3", DecodeContext{}, out, error), DecodeResult::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(typed(out[0]), R"({"level":i3})");
}

TEST(CodecRegistryTest, MadeCodecsDecode) {
  DecodeContext ctx;
  ctx.now = 1000;
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(make_codec("json", {})->decode(R"({"a":1})", ctx, out, error), DecodeResult::kOk);
  ASSERT_EQ(make_codec("cbor", {})->decode(test::bytes({0xa1, 0x61, 'b', 0x02}), ctx, out, error),
            DecodeResult::kOk);
  ASSERT_EQ(make_codec("senml", {})->decode(R"([{"n":"c","v":3}])", ctx, out, error),
            DecodeResult::kOk);
  ASSERT_EQ(make_codec("senml-cbor", {})
                ->decode(test::bytes({0x81, 0xa2, 0x00, 0x61, 'd', 0x02, 0x04}), ctx, out, error),
            DecodeResult::kOk);
  EXPECT_EQ(typed_all(out), (std::vector<std::string>{R"({"a":i1})", R"({"b":i2})",
                                                      R"({"name":"c","value":i3,"time":i1000})",
                                                      R"({"name":"d","value":i4,"time":i1000})"}));
}

}  // namespace
}  // namespace weir::codec
