#include "codec/senml/senml_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/codec/codec_test_support.hpp"

namespace weir::codec {
namespace {

using test::bytes;
using test::CborWriter;
using test::typed;
using test::typed_all;

// Processing time handed to every decode: 2023-11-14T22:13:20.123Z.
constexpr TimeMs kNow = 1700000000123;
const std::string kNowText = "i1700000000123";

// SenML CBOR labels (RFC 8428 Table 4).
constexpr int64_t kBver = -1, kBn = -2, kBt = -3, kBu = -4, kBv = -5, kBs = -6;
constexpr int64_t kN = 0, kU = 1, kV = 2, kVs = 3, kVb = 4, kS = 5, kT = 6, kUt = 7, kVd = 8;

const std::string kOw6 = "urn:dev:ow:10e2073a0108006:";
const std::string kOw63 = "urn:dev:ow:10e2073a01080063:";

// The typed rendering of a reading with a name, unit, numeric value and time.
std::string numeric(const std::string& name, const std::string& unit, const std::string& value,
                    const std::string& time) {
  return R"({"name":")" + name + R"(","unit":")" + unit + R"(","value":)" + value + R"(,"time":)" +
         time + "}";
}

struct GoodCase {
  const char* name;
  SenmlCodec::Encoding encoding;
  std::string payload;
  std::vector<std::string> readings;  // typed renderings, see codec_test_support.hpp
};
void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

constexpr auto kJson = SenmlCodec::Encoding::kJson;
constexpr auto kCbor = SenmlCodec::Encoding::kCbor;

// RFC 8428 section 5.1.2, second pack, in SenML CBOR as section 6 encodes it.
std::string rfc_5_1_2_cbor() {
  CborWriter w;
  w.array(7)
      .map(7)
      .integer(kBn)
      .text("urn:dev:ow:10e2073a0108006:")
      .integer(kBt)
      .dbl(1.276020076001e+09)
      .integer(kBu)
      .text("A")
      .integer(kBver)
      .uint(5)
      .integer(kN)
      .text("voltage")
      .integer(kU)
      .text("V")
      .integer(kV)
      .dbl(120.1);
  const double values[] = {1.2, 1.3, 1.4, 1.5, 1.6};
  for (int i = 0; i < 5; ++i) {
    w.map(3).integer(kN).text("current").integer(kT).integer(i - 5).integer(kV).dbl(values[i]);
  }
  w.map(2).integer(kN).text("current").integer(kV).dbl(1.7);
  return w.str();
}

// clang-format off
const std::vector<GoodCase>& good_cases() {
  static const std::vector<GoodCase> kCases = {
      // RFC 8428 5.1.1: no time, so the reading is taken "now".
      {"rfc_5_1_1_single_datapoint", kJson,
       R"([{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}])",
       {R"({"name":"urn:dev:ow:10e2073a01080063","unit":"Cel","value":d23.1,"time":)" +
        kNowText + "}"}},
      // RFC 8428 5.1.2, first pack: bn + n.
      {"rfc_5_1_2_multiple_datapoints", kJson,
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},)"
       R"({"n":"current","u":"A","v":1.2}])",
       {R"({"name":"urn:dev:ow:10e2073a01080063:voltage","unit":"V","value":d120.1,"time":)" +
            kNowText + "}",
        R"({"name":"urn:dev:ow:10e2073a01080063:current","unit":"A","value":d1.2,"time":)" +
            kNowText + "}"}},
      // RFC 8428 5.1.2, second pack: bt + t with negative offsets, bu carried forward.
      {"rfc_5_1_2_relative_offsets", kJson,
       R"([{"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,)"
       R"("bu":"A","bver":5,"n":"voltage","u":"V","v":120.1},)"
       R"({"n":"current","t":-5,"v":1.2},{"n":"current","t":-4,"v":1.3},)"
       R"({"n":"current","t":-3,"v":1.4},{"n":"current","t":-2,"v":1.5},)"
       R"({"n":"current","t":-1,"v":1.6},{"n":"current","v":1.7}])",
       {numeric(kOw6 + "voltage", "V", "d120.1", "i1276020076001"),
        numeric(kOw6 + "current", "A", "d1.2", "i1276020071001"),
        numeric(kOw6 + "current", "A", "d1.3", "i1276020072001"),
        numeric(kOw6 + "current", "A", "d1.4", "i1276020073001"),
        numeric(kOw6 + "current", "A", "d1.5", "i1276020074001"),
        numeric(kOw6 + "current", "A", "d1.6", "i1276020075001"),
        numeric(kOw6 + "current", "A", "d1.7", "i1276020076001")}},
      // RFC 8428 5.1.3: the name is bn alone; bu is the unit unless u says otherwise.
      {"rfc_5_1_3_multiple_measurements", kJson,
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","bt":1.320067464e+09,"bu":"%RH","v":20},)"
       R"({"u":"lon","v":24.30621},{"u":"lat","v":60.07965},)"
       R"({"t":60,"v":20.3},{"u":"lon","t":60,"v":24.30622},{"u":"lat","t":60,"v":60.07965},)"
       R"({"t":120,"v":20.7},{"u":"lon","t":120,"v":24.30623},{"u":"lat","t":120,"v":60.07966},)"
       R"({"u":"%EL","t":150,"v":98},)"
       R"({"t":180,"v":21.2},{"u":"lon","t":180,"v":24.30628},{"u":"lat","t":180,"v":60.07967}])",
       {numeric(kOw63, "%RH", "i20", "i1320067464000"),
        numeric(kOw63, "lon", "d24.30621", "i1320067464000"),
        numeric(kOw63, "lat", "d60.07965", "i1320067464000"),
        numeric(kOw63, "%RH", "d20.3", "i1320067524000"),
        numeric(kOw63, "lon", "d24.30622", "i1320067524000"),
        numeric(kOw63, "lat", "d60.07965", "i1320067524000"),
        numeric(kOw63, "%RH", "d20.7", "i1320067584000"),
        numeric(kOw63, "lon", "d24.30623", "i1320067584000"),
        numeric(kOw63, "lat", "d60.07966", "i1320067584000"),
        numeric(kOw63, "%EL", "i98", "i1320067614000"),
        numeric(kOw63, "%RH", "d21.2", "i1320067644000"),
        numeric(kOw63, "lon", "d24.30628", "i1320067644000"),
        numeric(kOw63, "lat", "d60.07967", "i1320067644000")}},
      // RFC 8428 5.1.5: the four kinds of value.
      {"rfc_5_1_5_multiple_data_types", kJson,
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","n":"temperature","u":"Cel","v":23.1},)"
       R"({"n":"label","vs":"Machine Room"},{"n":"open","vb":false},)"
       R"({"n":"nfc-reader","vd":"aGkgCg"}])",
       {R"({"name":"urn:dev:ow:10e2073a01080063:temperature","unit":"Cel","value":d23.1,"time":)" +
            kNowText + "}",
        R"({"name":"urn:dev:ow:10e2073a01080063:label","stringValue":"Machine Room","time":)" +
            kNowText + "}",
        R"({"name":"urn:dev:ow:10e2073a01080063:open","boolValue":false,"time":)" + kNowText +
            "}",
        R"({"name":"urn:dev:ow:10e2073a01080063:nfc-reader","dataValue":"aGkgCg==","time":)" +
            kNowText + "}"}},
      {"base_fields_carry_forward_and_are_replaced", kJson,
       R"([{"bn":"dev/","bv":100,"bs":1000,"bu":"W","n":"a","v":5,"s":1},)"
       R"({"n":"b","v":-1.5},{"n":"c","s":2},{"bv":0,"bu":"kW","n":"d","v":3},)"
       R"({"bn":"other:","n":"e","u":"Wh","v":0.5}])",
       {R"({"name":"dev/a","unit":"W","value":i105,"sum":i1001,"time":)" + kNowText + "}",
        R"({"name":"dev/b","unit":"W","value":d98.5,"time":)" + kNowText + "}",
        R"({"name":"dev/c","unit":"W","sum":i1002,"time":)" + kNowText + "}",
        R"({"name":"dev/d","unit":"kW","value":i3,"time":)" + kNowText + "}",
        R"({"name":"other:e","unit":"Wh","value":d0.5,"time":)" + kNowText + "}"}},
      {"times_relative_to_now_below_2_pow_28", kJson,
       R"([{"n":"a","v":1,"t":-60},{"n":"b","v":1,"t":10.5},)"
       R"({"n":"c","v":1,"bt":1000,"t":-1},{"n":"d","v":1,"bt":0,"t":268435456},)"
       R"({"n":"e","v":1,"t":268435455.5},{"n":"f","v":1,"bt":1.5e9,"t":0.0006},)"
       R"({"n":"g","v":1,"t":-0.0004}])",
       {R"({"name":"a","value":i1,"time":i1699999940123})",
        R"({"name":"b","value":i1,"time":i1700000010623})",
        R"({"name":"c","value":i1,"time":i1700000999123})",
        R"({"name":"d","value":i1,"time":i268435456000})",
        R"({"name":"e","value":i1,"time":i1968435455623})",
        R"({"name":"f","value":i1,"time":i1500000000001})",
        R"({"name":"g","value":i1,"time":i1500000000000})"}},
      {"update_time_and_sum_with_string_value", kJson,
       R"([{"n":"x","v":1,"ut":30},{"n":"y","vs":"on","s":3.5,"ut":0.5}])",
       {R"({"name":"x","value":i1,"time":)" + kNowText + R"(,"updateTime":i30})",
        R"({"name":"y","stringValue":"on","sum":d3.5,"time":)" + kNowText +
            R"(,"updateTime":d0.5})"}},
      {"unknown_labels_are_ignored", kJson,
       R"([{"bn":"dev:42","v":1,"foo":"bar","bx":{"a":1}}])",
       {R"({"name":"dev:42","value":i1,"time":)" + kNowText + "}"}},
      {"name_characters", kJson, R"([{"n":"0a-Z:9./_","bver":10,"v":1}])",
       {R"({"name":"0a-Z:9./_","value":i1,"time":)" + kNowText + "}"}},
      {"integer_overflow_falls_back_to_double", kJson,
       R"([{"bv":9223372036854775807,"n":"a","v":1}])",
       {R"({"name":"a","value":d9223372036854775808,"time":)" + kNowText + "}"}},
      // RFC 8428 5.1.1 in SenML CBOR: [{0: "urn:...", 1: "Cel", 2: 23.1}].
      {"cbor_rfc_5_1_1_single_datapoint", kCbor,
       bytes({0x81, 0xa3, 0x00, 0x78, 0x1b}) + "urn:dev:ow:10e2073a01080063" +
           bytes({0x01, 0x63, 'C', 'e', 'l', 0x02, 0xfb, 0x40, 0x37, 0x19, 0x99, 0x99, 0x99,
                  0x99, 0x9a}),
       {R"({"name":"urn:dev:ow:10e2073a01080063","unit":"Cel","value":d23.1,"time":)" +
        kNowText + "}"}},
      {"cbor_rfc_5_1_2_relative_offsets", kCbor, rfc_5_1_2_cbor(),
       {numeric(kOw6 + "voltage", "V", "d120.1", "i1276020076001"),
        numeric(kOw6 + "current", "A", "d1.2", "i1276020071001"),
        numeric(kOw6 + "current", "A", "d1.3", "i1276020072001"),
        numeric(kOw6 + "current", "A", "d1.4", "i1276020073001"),
        numeric(kOw6 + "current", "A", "d1.5", "i1276020074001"),
        numeric(kOw6 + "current", "A", "d1.6", "i1276020075001"),
        numeric(kOw6 + "current", "A", "d1.7", "i1276020076001")}},
      {"cbor_all_value_kinds", kCbor,
       CborWriter()
           .array(5)
           .map(6).integer(kBn).text("dev:").integer(kBv).uint(10).integer(kBs).uint(100)
           .integer(kN).text("v").integer(kV).half(1.5).integer(kS).uint(1)
           .map(2).integer(kN).text("s").integer(kVs).text("on")
           .map(2).integer(kN).text("b").integer(kVb).boolean(true)
           .map(3).integer(kN).text("d").integer(kVd).byte_string("hi \n").integer(kUt).uint(60)
           .map(4).integer(kN).text("t").integer(kV).integer(-3).integer(kT).integer(-2)
           .integer(kBt).dbl(1.6e9)
           .str(),
       {R"({"name":"dev:v","value":d11.5,"sum":i101,"time":)" + kNowText + "}",
        R"({"name":"dev:s","stringValue":"on","time":)" + kNowText + "}",
        R"({"name":"dev:b","boolValue":true,"time":)" + kNowText + "}",
        R"({"name":"dev:d","dataValue":"aGkgCg==","time":)" + kNowText +
            R"(,"updateTime":i60})",
        R"({"name":"dev:t","value":i7,"time":i1599999998000})"}},
  };
  return kCases;
}
// clang-format on

class SenmlGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(SenmlGoodTest, ResolvesEveryRecord) {
  const GoodCase& c = GetParam();
  SenmlCodec codec(c.encoding);
  std::vector<Value> out;
  std::string error;
  DecodeContext ctx;
  ctx.now = kNow;
  ASSERT_EQ(codec.decode(c.payload, ctx, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out), c.readings);
}

INSTANTIATE_TEST_SUITE_P(Table, SenmlGoodTest, ::testing::ValuesIn(good_cases()), test::CaseName());

struct BadCase {
  const char* name;
  SenmlCodec::Encoding encoding;
  std::string payload;
  std::string error;  // the exact error text
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

// clang-format off
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> kCases = {
      {"empty_pack", kJson, "[]", "SenML pack is empty"},
      {"single_record_not_in_a_pack", kJson, R"({"n":"a","v":1})",
       "expected a SenML pack (an array of records), got a single record"},
      {"number_instead_of_pack", kJson, "42",
       "expected a SenML pack (an array of records), got number"},
      {"invalid_json", kJson, R"([{"n":"a","v":1})",
       "invalid JSON: JSON document ended early in the middle of an object or array."},
      {"record_not_an_object", kJson, R"([{"n":"a","v":1},[1]])",
       "SenML record 1: expected an object, got array"},
      {"no_value", kJson, R"([{"n":"a","v":1},{"n":"b","v":2},{"n":"c","u":"Cel"}])",
       "SenML record 2: no value (v, vs, vb, vd or s)"},
      {"base_value_alone_is_no_value", kJson, R"([{"bn":"a","bv":1}])",
       "SenML record 0: no value (v, vs, vb, vd or s)"},
      {"two_values", kJson, R"([{"n":"a","v":1,"vs":"x"}])",
       "SenML record 0: more than one value (v, vs, vb, vd)"},
      {"bool_and_data_values", kJson, R"([{"n":"a","vb":true,"vd":"AA"}])",
       "SenML record 0: more than one value (v, vs, vb, vd)"},
      {"empty_name", kJson, R"([{"v":1}])", "SenML record 0: empty name (bn + n)"},
      {"name_with_space", kJson, R"([{"n":"a b","v":1}])",
       "SenML record 0: name \"a b\" holds a character outside A-Z a-z 0-9 - : . / _"},
      {"name_with_comma", kJson, R"([{"n":"a,b","v":1}])",
       "SenML record 0: name \"a,b\" holds a character outside A-Z a-z 0-9 - : . / _"},
      {"name_not_ascii", kJson, R"([{"n":"caf\u00e9","v":1}])",
       "SenML record 0: name \"caf\xc3\xa9\" holds a character outside A-Z a-z 0-9 - : . / _"},
      {"bn_plus_n_invalid", kJson, R"([{"bn":"dev:","n":"temp!","v":1}])",
       "SenML record 0: name \"dev:temp!\" holds a character outside A-Z a-z 0-9 - : . / _"},
      {"name_starts_with_dash", kJson, R"([{"n":"-abc","v":1}])",
       "SenML record 0: name \"-abc\" must start with a letter or a digit"},
      {"name_starts_with_underscore", kJson, R"([{"n":"_x","v":1}])",
       "SenML record 0: name \"_x\" must start with a letter or a digit"},
      {"base_name_starts_with_colon", kJson, R"([{"n":"ok","v":1},{"bn":":dev","n":"x","v":1}])",
       "SenML record 1: name \":devx\" must start with a letter or a digit"},
      {"version_too_high", kJson, R"([{"n":"a","v":1},{"bver":11,"n":"b","v":1}])",
       "SenML record 1: unsupported SenML version bver=11 (newest understood is 10)"},
      {"name_not_a_string", kJson, R"([{"n":5,"v":1}])",
       "SenML record 0: field \"n\" must be a string, got number"},
      {"value_not_a_number", kJson, R"([{"n":"a","v":"1"}])",
       "SenML record 0: field \"v\" must be a finite number, got string"},
      {"bool_value_not_a_bool", kJson, R"([{"n":"a","vb":1}])",
       "SenML record 0: field \"vb\" must be a boolean, got number"},
      {"base_time_not_a_number", kJson, R"([{"bt":"now","n":"a","v":1}])",
       "SenML record 0: field \"bt\" must be a finite number, got string"},
      {"must_understand_label", kJson, R"([{"n":"a","v":1,"foo_":1}])",
       "SenML record 0: unsupported must-understand field \"foo_\""},
      {"bad_data_value", kJson, R"([{"n":"a","vd":"!!"}])",
       "SenML record 0: field \"vd\" is not valid base64"},
      {"time_out_of_range", kJson, R"([{"n":"a","v":1,"t":1e300}])",
       "SenML record 0: time out of range"},
      // SenML CBOR uses integer labels: text labels are unknown extensions.
      {"cbor_text_labels", kCbor, CborWriter().array(1).map(2).text("n").text("a").text("v")
                                      .uint(1).str(),
       "SenML record 0: empty name (bn + n)"},
      {"cbor_version_too_high", kCbor,
       CborWriter().array(1).map(3).integer(kBver).uint(12).integer(kN).text("a").integer(kV)
           .uint(1).str(),
       "SenML record 0: unsupported SenML version bver=12 (newest understood is 10)"},
      {"cbor_nan_value", kCbor,
       CborWriter().array(1).map(2).integer(kN).text("a").integer(kV).raw(bytes({0xf9, 0x7e, 0x00}))
           .str(),
       "SenML record 0: field \"v\" must be a finite number, got non-finite number"},
      {"cbor_map_instead_of_pack", kCbor,
       CborWriter().map(2).integer(kN).text("a").integer(kV).uint(1).str(),
       "expected a SenML pack (an array of records), got a single record"},
      {"cbor_truncated", kCbor, CborWriter().array(2).map(2).integer(kN).text("a").integer(kV)
                                    .uint(1).str(),
       "truncated CBOR: the payload ends after 7 bytes, inside an unfinished item"},
      {"cbor_empty_pack", kCbor, bytes({0x80}), "SenML pack is empty"},
  };
  return kCases;
}
// clang-format on

class SenmlBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SenmlBadTest, RejectsTheWholePack) {
  const BadCase& c = GetParam();
  SenmlCodec codec(c.encoding);
  std::vector<Value> out;
  out.push_back(Value("earlier reading"));
  std::string error;
  DecodeContext ctx;
  ctx.now = kNow;
  EXPECT_EQ(codec.decode(c.payload, ctx, out, error), DecodeResult::kMalformed);
  EXPECT_EQ(error, c.error);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(typed(out[0]), R"("earlier reading")");
}

INSTANTIATE_TEST_SUITE_P(Table, SenmlBadTest, ::testing::ValuesIn(bad_cases()), test::CaseName());

TEST(SenmlCodecTest, Names) {
  EXPECT_EQ(SenmlCodec(SenmlCodec::Encoding::kJson).name(), "senml");
  EXPECT_EQ(SenmlCodec(SenmlCodec::Encoding::kCbor).name(), "senml-cbor");
}

// Base fields belong to one pack: the next payload starts from nothing.
TEST(SenmlCodecTest, BaseFieldsDoNotLeakAcrossPacks) {
  SenmlCodec codec(SenmlCodec::Encoding::kJson);
  std::vector<Value> out;
  std::string error;
  DecodeContext ctx;
  ctx.now = kNow;
  ASSERT_EQ(
      codec.decode(R"([{"bn":"dev:","bt":1.6e9,"bu":"W","bv":5,"n":"a","v":1}])", ctx, out, error),
      DecodeResult::kOk)
      << error;
  ASSERT_EQ(codec.decode(R"([{"n":"b","v":1}])", ctx, out, error), DecodeResult::kOk) << error;
  EXPECT_EQ(typed_all(out),
            (std::vector<std::string>{numeric("dev:a", "W", "i6", "i1600000000000"),
                                      R"({"name":"b","value":i1,"time":)" + kNowText + "}"}));
}

// A failure in a later record leaves nothing behind from the earlier, good records.
TEST(SenmlCodecTest, LaterBadRecordDropsTheWholePack) {
  SenmlCodec codec(SenmlCodec::Encoding::kJson);
  std::vector<Value> out;
  std::string error;
  EXPECT_EQ(
      codec.decode(R"([{"n":"a","v":1},{"n":"b","v":2},{"n":"c"}])", DecodeContext{}, out, error),
      DecodeResult::kMalformed);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(error, "SenML record 2: no value (v, vs, vb, vd or s)");
}

}  // namespace
}  // namespace weir::codec
