#include "codec/cbor/cbor_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "unit/codec/codec_test_support.hpp"

namespace weir::codec {
namespace {

using test::bytes;
using test::CborWriter;
using test::typed;
using test::typed_all;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// `depth` nested definite arrays, the innermost empty: 81 81 ... 80.
std::string nested_arrays(size_t depth) {
  return std::string(depth - 1, '\x81') + std::string(1, '\x80');
}

// A map of n entries {0: 0, 1: 1, ...}, definite or indefinite.
std::string wide_map(uint64_t n, bool indefinite) {
  CborWriter w;
  if (indefinite) {
    w.indef_map();
  } else {
    w.map(n);
  }
  for (uint64_t i = 0; i < n; ++i) w.uint(i).uint(i);
  if (indefinite) w.end();
  return w.str();
}

std::string wide_map_typed(int n) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",";
    out += "\"" + std::to_string(i) + "\":i" + std::to_string(i);
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
      {"flat_map",
       CborWriter().map(3).text("id").text("s-1").text("t").dbl(21.5).text("n").uint(7).str(),
       {R"({"id":"s-1","t":d21.5,"n":i7})"}},
      {"hand_written_bytes",  // {"a": 1, "b": [2, -3]}
       bytes({0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x82, 0x02, 0x22}),
       {R"({"a":i1,"b":[i2,i-3]})"}},
      {"array_of_maps",
       CborWriter().array(3).map(1).text("a").uint(1).map(1).text("a").dbl(2.0).map(0).str(),
       {R"({"a":i1})", R"({"a":d2})", "{}"}},
      {"empty_array_gives_no_readings", bytes({0x80}), {}},
      {"unsigned_widths",
       CborWriter()
           .map(6)
           .text("inline").uint(23)
           .text("u8").uint_width(255, 1)
           .text("u16").uint_width(65535, 2)
           .text("u32").uint_width(4294967295u, 4)
           .text("i64max").uint_width(9223372036854775807u, 8)
           .text("u64max").uint_width(kU64Max, 8)
           .str(),
       {R"({"inline":i23,"u8":i255,"u16":i65535,"u32":i4294967295,)"
        R"("i64max":i9223372036854775807,"u64max":d18446744073709551616})"}},
      {"negative_widths",
       CborWriter()
           .map(6)
           .text("inline").negint(0)
           .text("n8").negint_width(255, 1)
           .text("n16").negint_width(65535, 2)
           .text("n32").negint_width(4294967295u, 4)
           .text("i64min").negint_width(9223372036854775807u, 8)
           .text("below").negint_width(kU64Max, 8)
           .str(),
       {R"({"inline":i-1,"n8":i-256,"n16":i-65536,"n32":i-4294967296,)"
        R"("i64min":i-9223372036854775808,"below":d-18446744073709551616})"}},
      {"floats",  // half 1.5, half 2^-24 (subnormal), half 65504, single 0.25, double 0.1
       bytes({0xa5, 0x61, 'a', 0xf9, 0x3e, 0x00, 0x61, 'b', 0xf9, 0x00, 0x01, 0x61, 'c', 0xf9,
              0x7b, 0xff, 0x61, 'd', 0xfa, 0x3e, 0x80, 0x00, 0x00, 0x61, 'e', 0xfb, 0x3f, 0xb9,
              0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}),
       {R"({"a":d1.5,"b":d5.960464477539063e-08,"c":d65504,"d":d0.25,"e":d0.1})"}},
      {"single_precision_is_widened_exactly",
       CborWriter().map(1).text("f").single(0.1f).str(),
       {R"({"f":d0.10000000149011612})"}},
      {"simple_values",
       CborWriter().map(4).text("t").boolean(true).text("f").boolean(false).text("n").null()
           .text("u").undef().str(),
       {R"({"t":true,"f":false,"n":null,"u":null})"}},
      {"byte_strings_become_base64",
       CborWriter().map(3).text("b").byte_string("\x01\x02\x03").text("e").byte_string("")
           .text("hi").byte_string("hi \n").str(),
       {R"({"b":"AQID","e":"","hi":"aGkgCg=="})"}},
      {"tags_are_dropped",  // 55799 self-described CBOR around the root; 1 epoch; 0 text date
       CborWriter().tag(55799).map(2).text("epoch").tag(1).uint(1700000000).text("date").tag(0)
           .text("2023-11-14T22:13:20Z").str(),
       {R"({"epoch":i1700000000,"date":"2023-11-14T22:13:20Z"})"}},
      {"tagged_key", CborWriter().map(1).tag(32).text("k").uint(1).str(), {R"({"k":i1})"}},
      {"tagged_indefinite_items",
       CborWriter().map(3).text("a").tag(258).indef_array().end().text("t").tag(32).indef_text()
           .text("x").end().text("m").tag(259).indef_map().end().str(),
       {R"({"a":[],"t":"x","m":{}})"}},
      {"integer_keys_become_decimal_text",
       CborWriter().map(5).negint(1).text("bn").uint(0).text("n").uint(2).dbl(1.5)
           .uint_width(kU64Max, 8).uint(1).negint_width(kU64Max, 8).uint(2).str(),
       {R"({"-2":"bn","0":"n","2":d1.5,"18446744073709551615":i1,)"
        R"("-18446744073709551616":i2})"}},
      {"indefinite_lengths",
       CborWriter()
           .indef_map()
           .text("list").indef_array().uint(1).indef_array().end().text("x").end()
           .indef_text().text("ke").text("y").end()
           .indef_text().text("ab").text("").text("cd").end()
           .text("raw").indef_bytes().byte_string("\x01").byte_string("\x02\x03").end()
           .text("empty").indef_text().end()
           .end()
           .str(),
       {R"({"list":[i1,[],"x"],"key":"abcd","raw":"AQID","empty":""})"}},
      {"indefinite_array_of_maps",
       CborWriter().indef_array().map(1).text("a").uint(1).indef_map().text("b").uint(2).end()
           .end().str(),
       {R"({"a":i1})", R"({"b":i2})"}},
      {"utf8_text",
       CborWriter().map(1).text("\xc3\xa9t\xc3\xa9").text("\xf0\x9f\x98\x80").str(),
       {"{\"\xc3\xa9t\xc3\xa9\":\"\xf0\x9f\x98\x80\"}"}},
      {"repeated_key_keeps_last_value",
       CborWriter().map(3).text("a").uint(1).text("b").uint(2).text("a").uint(3).str(),
       {R"({"a":i3,"b":i2})"}},
      {"1024_entries_are_accepted", wide_map(1024, false), {wide_map_typed(1024)}},
      {"1024_indefinite_entries_are_accepted", wide_map(1024, true), {wide_map_typed(1024)}},
      {"depth_64_is_accepted", "\xa1\x61" "a" + nested_arrays(63),
       {"{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}"}},
  };
  return kCases;
}
// clang-format on

class CborGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(CborGoodTest, DecodesEveryFieldWithItsType) {
  const GoodCase& c = GetParam();
  CborCodec codec;
  std::vector<Value> out;
  std::string error;
  ASSERT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out), c.readings);
}

INSTANTIATE_TEST_SUITE_P(Table, CborGoodTest, ::testing::ValuesIn(good_cases()), test::CaseName());

struct BadCase {
  const char* name;
  std::string payload;
  std::string error;  // the exact error text
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> kCases = {
      {"empty", "", "empty CBOR payload"},
      {"map_header_only", bytes({0xa1}),
       "invalid CBOR at byte 0: map declares 1 entries but only 0 bytes follow"},
      {"map_missing_value", bytes({0xa1, 0x61, 'a'}),
       "truncated CBOR: the payload ends after 3 bytes, inside an unfinished item"},
      {"text_cut_short", bytes({0xa1, 0x63, 'a', 'b'}),
       "truncated CBOR at byte 1: the item runs past the end of the payload"},
      {"uint16_cut_short", bytes({0xa1, 0x61, 'a', 0x19, 0x01}),
       "truncated CBOR at byte 3: the item runs past the end of the payload"},
      {"double_cut_short", bytes({0xa1, 0x61, 'a', 0xfb, 0x40, 0x37}),
       "truncated CBOR at byte 3: the item runs past the end of the payload"},
      {"open_indefinite_array", bytes({0x9f, 0xa0}),
       "truncated CBOR: the payload ends after 2 bytes, inside an unfinished item"},
      {"tag_without_content", bytes({0xc1}),
       "truncated CBOR: the payload ends after 1 bytes, inside an unfinished item"},
      {"reserved_initial_byte", bytes({0x1c}),
       "invalid CBOR at byte 0: reserved or unsupported initial byte 0x1c"},
      {"unassigned_simple_value", bytes({0xa1, 0x61, 'a', 0xf8, 0x20}),
       "invalid CBOR at byte 3: reserved or unsupported initial byte 0xf8"},
      {"garbage_text", "hello world",
       "invalid CBOR at byte 9: 2 trailing bytes after the data item"},
      {"stray_break", bytes({0xff}),
       "invalid CBOR at byte 0: break outside an indefinite-length item"},
      {"break_in_definite_array", bytes({0x82, 0x01, 0xff}),
       "invalid CBOR at byte 2: break outside an indefinite-length item"},
      {"trailing_byte", bytes({0xa0, 0x00}),
       "invalid CBOR at byte 1: 1 trailing bytes after the data item"},
      {"two_maps", bytes({0xa1, 0x61, 'a', 0x01, 0xa0}),
       "invalid CBOR at byte 4: 1 trailing bytes after the data item"},
      {"top_level_integer", bytes({0x18, 0x2a}),
       "expected a CBOR map or an array of maps, got integer"},
      {"top_level_text", bytes({0x61, 'x'}), "expected a CBOR map or an array of maps, got string"},
      {"top_level_float", bytes({0xf9, 0x3c, 0x00}),
       "expected a CBOR map or an array of maps, got floating-point number"},
      {"top_level_null", bytes({0xf6}), "expected a CBOR map or an array of maps, got null"},
      {"array_with_a_non_map", bytes({0x82, 0xa0, 0x01}),
       "expected a CBOR map or an array of maps, got an array with integer at index 1"},
      {"depth_65", "\xa1\x61" "a" + nested_arrays(64),
       "invalid CBOR at byte 66: arrays and maps nested deeper than 64 levels"},
      {"deep_indefinite_nesting", std::string(10000, '\x9f'),
       "invalid CBOR at byte 64: arrays and maps nested deeper than 64 levels"},
      {"huge_array_length", bytes({0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
       "invalid CBOR at byte 0: array declares 18446744073709551615 items but only 8 bytes "
       "follow"},
      {"huge_map_length", bytes({0xa1, 0x61, 'a', 0xba, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02}),
       "invalid CBOR at byte 3: map declares 4294967295 entries but only 6 bytes follow"},
      {"huge_text_length", bytes({0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a'}),
       "truncated CBOR at byte 0: the item runs past the end of the payload"},
      // 64-bit lengths of 2^32 + 1: a 32-bit size_t would read them as 1 and accept the item.
      {"array_length_past_32_bits", bytes({0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01}),
       "invalid CBOR at byte 0: array declares 4294967297 items but only 9 bytes follow"},
      {"map_length_past_32_bits", bytes({0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x61, 'a', 0x01}),
       "invalid CBOR at byte 0: map declares 4294967297 entries but only 11 bytes follow"},
      {"text_length_past_32_bits", bytes({0x7b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 'a'}),
       "truncated CBOR at byte 0: the item runs past the end of the payload"},
      {"nested_bytes_length_past_32_bits", bytes({0x81, 0x5b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 'a'}),
       "truncated CBOR at byte 1: the item runs past the end of the payload"},
      {"huge_byte_string_length", bytes({0xa1, 0x61, 'a', 0x5a, 0xff, 0xff, 0xff, 0xff}),
       "truncated CBOR at byte 3: the item runs past the end of the payload"},
      {"1025_entries", wide_map(1025, false),
       "invalid CBOR at byte 0: map with more than 1024 entries"},
      {"1025_indefinite_entries", wide_map(1025, true),
       "invalid CBOR at byte 5588: map with more than 1024 entries"},
      {"array_key", bytes({0xa1, 0x80, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got array"},
      {"map_key", bytes({0xa1, 0xa0, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got map"},
      {"byte_string_key", bytes({0xa1, 0x41, 0x00, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got byte string"},
      {"indefinite_byte_string_key", bytes({0xa1, 0x5f, 0xff, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got byte string"},
      {"float_key", bytes({0xa1, 0xf9, 0x3c, 0x00, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got "
       "floating-point number"},
      {"bool_key", bytes({0xa1, 0xf5, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got boolean"},
      {"null_key", bytes({0xa1, 0xf6, 0x01}),
       "invalid CBOR at byte 1: map key must be a text string or an integer, got null"},
      {"invalid_utf8_text", bytes({0xa1, 0x61, 'a', 0x61, 0xff}),
       "invalid CBOR at byte 3: text string is not valid UTF-8"},
      {"utf8_surrogate_in_key", bytes({0xa1, 0x63, 0xed, 0xa0, 0x80, 0x01}),
       "invalid CBOR at byte 1: text string is not valid UTF-8"},
      {"invalid_utf8_chunk", bytes({0xa1, 0x61, 'a', 0x7f, 0x61, 0xc3, 0xff}),
       "invalid CBOR at byte 4: text string is not valid UTF-8"},
      {"byte_chunk_in_text", bytes({0xa1, 0x61, 'a', 0x7f, 0x41, 0x00, 0xff}),
       "invalid CBOR at byte 4: byte string inside an indefinite-length string"},
      {"text_chunk_in_bytes", bytes({0xa1, 0x61, 'a', 0x5f, 0x61, 'x', 0xff}),
       "invalid CBOR at byte 4: text string inside an indefinite-length string"},
      {"nested_indefinite_text", bytes({0xa1, 0x61, 'a', 0x7f, 0x7f, 0xff, 0xff}),
       "invalid CBOR at byte 4: indefinite-length text string inside an indefinite-length "
       "string"},
      {"integer_in_indefinite_text", bytes({0xa1, 0x61, 'a', 0x7f, 0x01, 0xff}),
       "invalid CBOR at byte 4: integer inside an indefinite-length string"},
      {"array_in_indefinite_text", bytes({0xa1, 0x61, 'a', 0x7f, 0x80, 0xff}),
       "invalid CBOR at byte 4: array inside an indefinite-length string"},
      {"tag_in_indefinite_text", bytes({0xa1, 0x61, 'a', 0x7f, 0xc1, 0x61, 'x', 0xff}),
       "invalid CBOR at byte 4: tag inside an indefinite-length string"},
      {"indefinite_map_missing_value", bytes({0xbf, 0x61, 'a', 0xff}),
       "invalid CBOR at byte 3: indefinite-length map ends with a key but no value"},
      {"break_after_tag", bytes({0x9f, 0xc1, 0xff}),
       "invalid CBOR at byte 2: break right after a tag"},
  };
  return kCases;
}
// clang-format on

class CborBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CborBadTest, IsMalformedAndLeavesOutAlone) {
  const BadCase& c = GetParam();
  CborCodec codec;
  std::vector<Value> out;
  out.push_back(Value("earlier reading"));
  std::string error;
  EXPECT_EQ(codec.decode(c.payload, DecodeContext{}, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(error, c.error);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(typed(out[0]), R"("earlier reading")");
}

INSTANTIATE_TEST_SUITE_P(Table, CborBadTest, ::testing::ValuesIn(bad_cases()), test::CaseName());

TEST(CborCodecTest, NameIsCbor) { EXPECT_EQ(CborCodec().name(), "cbor"); }

// The builder's stack is reused: a failure half-way through one payload must not leak
// into the next one.
TEST(CborCodecTest, RecoversAfterAMalformedPayload) {
  CborCodec codec;
  std::vector<Value> out;
  std::string error;
  const std::string bad = CborWriter().map(2).text("a").indef_array().uint(1).str();
  EXPECT_EQ(codec.decode(bad, DecodeContext{}, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(codec.decode(bytes({0xa1, 0x61, 'a', 0xff}), DecodeContext{}, out, error),
            DecodeResult::kMalformed);
  const std::string good = CborWriter().map(1).text("b").uint(2).str();
  ASSERT_EQ(codec.decode(good, DecodeContext{}, out, error), DecodeResult::kOk) << error;
  ASSERT_EQ(codec.decode(good, DecodeContext{}, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out), (std::vector<std::string>{R"({"b":i2})", R"({"b":i2})"}));
}

// parse() takes any single data item (the SenML codec builds on it).
TEST(CborCodecTest, ParseAcceptsAnyItem) {
  CborCodec codec;
  std::string error;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {bytes({0x18, 0x2a}), "i42"},
      {bytes({0x61, 'x'}), R"("x")"},
      {bytes({0x83, 0x01, 0x81, 0x02, 0xf4}), "[i1,[i2],false]"},
      {bytes({0xc2, 0x41, 0x01}), R"("AQ==")"},  // a bignum keeps its bytes
  };
  for (const auto& [payload, expected] : cases) {
    Value v;
    ASSERT_EQ(codec.parse(payload, v, error), DecodeResult::kOk) << expected << ": " << error;
    EXPECT_EQ(typed(v), expected);
  }
}

}  // namespace
}  // namespace weir::codec
