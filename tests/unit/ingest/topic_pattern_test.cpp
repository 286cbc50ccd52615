#include <gtest/gtest.h>

#include "ingest/mqtt/topic_pattern.hpp"

namespace weir::ingest {
namespace {

TopicPattern parse(const char* p) {
  std::string error;
  auto tp = TopicPattern::parse(p, error);
  EXPECT_TRUE(tp.has_value()) << p << ": " << error;
  return *tp;
}

TEST(TopicPattern, NamedLevelsBecomeFilterAndCaptures) {
  auto tp = parse("sensors/+device/telemetry");
  EXPECT_EQ(tp.filter(), "sensors/+/telemetry");
  ASSERT_EQ(tp.names(), std::vector<std::string>{"device"});
  std::vector<std::string_view> cap;
  ASSERT_TRUE(tp.match("sensors/dev-1/telemetry", cap));
  EXPECT_EQ(cap.at(0), "dev-1");
  EXPECT_FALSE(tp.match("sensors/dev-1/telemetry/x"));
  EXPECT_FALSE(tp.match("sensors/dev-1"));
  EXPECT_FALSE(tp.match("other/dev-1/telemetry"));
  ASSERT_TRUE(tp.match("sensors//telemetry", cap));  // an empty level matches +
  EXPECT_EQ(cap.at(0), "");
}

TEST(TopicPattern, HashMatchesTheRestAndTheParent) {
  auto tp = parse("site/+site/#rest");
  EXPECT_EQ(tp.filter(), "site/+/#");
  std::vector<std::string_view> cap;
  ASSERT_TRUE(tp.match("site/north/a/b/c", cap));
  EXPECT_EQ(cap.at(0), "north");
  EXPECT_EQ(cap.at(1), "a/b/c");
  ASSERT_TRUE(tp.match("site/north", cap));
  EXPECT_EQ(cap.at(1), "");
  EXPECT_TRUE(parse("#").match("anything/at/all"));
  EXPECT_FALSE(parse("#").match("$SYS/broker/uptime"));
  EXPECT_FALSE(parse("+/broker/uptime").match("$SYS/broker/uptime"));
  EXPECT_TRUE(parse("$SYS/#").match("$SYS/broker/uptime"));
}

TEST(TopicPattern, PlainLiteral) {
  auto tp = parse("a/b");
  EXPECT_TRUE(tp.match("a/b"));
  EXPECT_FALSE(tp.match("a/b/"));
  EXPECT_FALSE(tp.match("a"));
  EXPECT_TRUE(tp.names().empty());
}

TEST(TopicPattern, RejectsInvalidPatterns) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "empty"},
      {"a/#/b", "last level"},
      {"a/b+/c", "stand alone"},
      {"a/+x/+x", "captured twice"},
      {"a/+x+y", "must not contain"},
  };
  for (const auto& [p, why] : bad) {
    std::string error;
    EXPECT_FALSE(TopicPattern::parse(p, error).has_value()) << p;
    EXPECT_NE(error.find(why), std::string::npos) << p << ": " << error;
  }
}

TEST(TopicPattern, PublishTopicValidity) {
  EXPECT_TRUE(is_valid_publish_topic("agg/dev-1"));
  EXPECT_FALSE(is_valid_publish_topic(""));
  EXPECT_FALSE(is_valid_publish_topic("agg/+"));
  EXPECT_FALSE(is_valid_publish_topic("agg/#"));
}

}  // namespace
}  // namespace weir::ingest

namespace weir::ingest {
namespace {

TEST(TopicFilters, Coverage) {
  struct Case { const char* a; const char* b; bool covers; };
  const Case cases[] = {
      {"a/#", "a/+/c", true},  {"a/#", "a", true},      {"#", "x/y", true},
      {"a/+", "a/b", true},    {"a/+", "a/#", false},   {"a/+", "a", false},
      {"a/b", "a/+", false},   {"a/+/c", "a/b/c", true}, {"+/x", "$SYS/x", false},
      {"#", "$SYS/#", false},  {"a/b", "a/b", true},    {"a/+/+", "a/b", false},
  };
  for (const auto& c : cases) EXPECT_EQ(filter_covers(c.a, c.b), c.covers) << c.a << " / " << c.b;
  EXPECT_TRUE(filters_overlap("a/+/c", "a/b/+"));
  EXPECT_TRUE(filters_overlap("a/#", "a"));
  EXPECT_FALSE(filters_overlap("a/+/c", "a/b/d"));
  EXPECT_FALSE(filters_overlap("a/b", "a/b/c"));
}

}  // namespace
}  // namespace weir::ingest
