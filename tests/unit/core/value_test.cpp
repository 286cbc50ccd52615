#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "weir/value.hpp"

namespace weir {
namespace {

TEST(Value, ObjectsKeepInsertionOrderAndReplaceInPlace) {
  Value v = Value::object();
  v.set("b", 1);
  v.set("a", "x");
  v.set("b", 2.5);
  EXPECT_EQ(v.to_json(), R"({"b":2.5,"a":"x"})");
  EXPECT_TRUE(v.erase("b"));
  EXPECT_FALSE(v.erase("b"));
  EXPECT_EQ(v.to_json(), R"({"a":"x"})");
}

TEST(Value, NestedPathsAssignLookupRemove) {
  Value v = Value::object();
  v.assign(FieldPath("a.b.c"), 3);
  v.assign(FieldPath("a.d"), true);
  ASSERT_NE(v.lookup(FieldPath("a.b.c")), nullptr);
  EXPECT_EQ(v.lookup(FieldPath("a.b.c"))->as_int(), 3);
  EXPECT_EQ(v.lookup(FieldPath("a.x")), nullptr);
  EXPECT_EQ(v.lookup(FieldPath("a.b.c.d")), nullptr);
  EXPECT_TRUE(v.remove(FieldPath("a.b")));
  EXPECT_EQ(v.to_json(), R"({"a":{"d":true}})");
  // Assigning through a scalar replaces it with an object.
  v.assign(FieldPath("a.d.e"), 1);
  EXPECT_EQ(v.to_json(), R"({"a":{"d":{"e":1}}})");
}

TEST(Value, CopiesAreDeep) {
  Value a = Value::object();
  a.set("x", Value::array());
  a.find("x")->push_back(1);
  Value b = a;
  b.find("x")->push_back(2);
  EXPECT_EQ(a.to_json(), R"({"x":[1]})");
  EXPECT_EQ(b.to_json(), R"({"x":[1,2]})");
}

TEST(Value, JsonTextEscapesAndNumbers) {
  Value v = Value::object();
  v.set("s", "q\"\\\n\x01");
  v.set("d", 0.1);
  v.set("i", int64_t{-9007199254740993});
  v.set("nan", std::nan(""));
  v.set("big", 1e300);
  v.set("n", nullptr);
  EXPECT_EQ(v.to_json(),
            R"({"s":"q\"\\\n\u0001","d":0.1,"i":-9007199254740993,"nan":null,"big":1e+300,"n":null})");
}

TEST(Value, JsonStringsEscapeOnlyWhatMustBeEscaped) {
  std::string out;
  append_json_string(out, "");
  EXPECT_EQ(out, R"("")");
  out.clear();
  // Escapes at the start, in the middle and at the end, between runs of plain text;
  // UTF-8 and DEL pass through unchanged.
  append_json_string(out, std::string("\"ab\\cd\x1f" "\xc3\xa9\x7f" "ef\n", 13));
  EXPECT_EQ(out, "\"\\\"ab\\\\cd\\u001f\xc3\xa9\x7f" "ef\\n\"");
  out.clear();
  append_json_string(out, std::string("x\0y", 3));
  EXPECT_EQ(out, R"("x\u0000y")");
}

TEST(Value, FindMatchesWholeKeysOnly) {
  Value v = Value::object();
  v.set("temp", 1);
  v.set("tempF", 2);
  v.set("", 3);
  v.set("t", 4);
  ASSERT_NE(v.find("tempF"), nullptr);
  EXPECT_EQ(v.find("tempF")->as_int(), 2);
  EXPECT_EQ(v.find("temp")->as_int(), 1);
  EXPECT_EQ(v.find("")->as_int(), 3);
  EXPECT_EQ(v.find("t")->as_int(), 4);
  EXPECT_EQ(v.find("tem"), nullptr);
  EXPECT_EQ(v.find("tempC"), nullptr);
}

TEST(Value, CompareFollowsMongoTypeOrder) {
  const std::vector<Value> ascending = {Value(), Value(-1.5), Value(int64_t{2}), Value("a"),
                                        Value("b"), Value::object(), Value::array(),
                                        Value(false), Value(true)};
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (size_t j = 0; j < ascending.size(); ++j) {
      int want = i < j ? -1 : (i > j ? 1 : 0);
      EXPECT_EQ(compare(ascending[i], ascending[j]), want) << i << " vs " << j;
    }
  }
  EXPECT_EQ(compare(Value(int64_t{3}), Value(3.0)), 0);
  EXPECT_EQ(compare(Value(int64_t{9007199254740993}), Value(int64_t{9007199254740992})), 1);
}

}  // namespace
}  // namespace weir

namespace weir {
namespace {

TEST(Value, MovedFromIsNullAndUsable) {
  Value a = Value::object();
  a.set("k", 1);
  Value b = std::move(a);
  EXPECT_TRUE(a.is_null());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a.to_json(), "null");
  EXPECT_EQ(a.find("k"), nullptr);
  Value c;
  c = std::move(b);
  EXPECT_TRUE(b.is_null());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.to_json(), R"({"k":1})");
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_FALSE(Value(false).as_bool());
  EXPECT_EQ(Value(-0.5).as_double(), -0.5);
}

}  // namespace
}  // namespace weir
