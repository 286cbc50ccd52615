// weir_match: the MongoDB query subset and the $match stage, table-driven.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/match/match_stage.hpp"
#include "pipeline/match/matcher.hpp"

namespace weir::pipeline {
namespace {

using nlohmann::json;

struct MatchCase {
  const char* query;
  const char* doc;
  bool want;
};

void PrintTo(const MatchCase& c, std::ostream* os) { *os << c.query << " on " << c.doc; }

class Match : public testing::TestWithParam<MatchCase> {};

TEST_P(Match, Matches) {
  const MatchCase& c = GetParam();
  json q = json::parse(c.query);
  auto matcher = compile_match(config::Node(q, "/q"));
  EXPECT_EQ(matcher->matches(config::to_value(json::parse(c.doc))), c.want);
}

const MatchCase kEquality[] = {
    {R"({"a": 5})", R"({"a": 5})", true},
    {R"({"a": 5})", R"({"a": 5.0})", true},
    {R"({"a": 5})", R"({"a": 6})", false},
    {R"({"a": 5})", R"({"a": "5"})", false},
    {R"({"a": 5})", R"({})", false},
    {R"({"a": null})", R"({})", true},
    {R"({"a": null})", R"({"a": null})", true},
    {R"({"a": null})", R"({"a": 0})", false},
    {R"({"a": null})", R"({"a": []})", false},
    {R"({"a": 2})", R"({"a": [1, 2, 3]})", true},
    {R"({"a": 4})", R"({"a": [1, 2, 3]})", false},
    {R"({"a": [1, 2]})", R"({"a": [1, 2]})", true},
    {R"({"a": [2, 1]})", R"({"a": [1, 2]})", false},
    {R"({"a": [1, 2]})", R"({"a": [[1, 2], 3]})", true},
    {R"({"o": {"p": 1}})", R"({"o": {"p": 1}})", true},
    {R"({"o": {"p": 1}})", R"({"o": {"p": 1, "q": 2}})", false},
    {R"({"a": 1, "b": 2})", R"({"a": 1, "b": 2})", true},
    {R"({"a": 1, "b": 2})", R"({"a": 1, "b": 3})", false},
    {R"({})", R"({"a": 1})", true},
    {R"({"$comment": "any", "a": 1})", R"({"a": 1})", true},
};
INSTANTIATE_TEST_SUITE_P(Equality, Match, testing::ValuesIn(kEquality));

const MatchCase kNestedPaths[] = {
    {R"({"o.p": 1})", R"({"o": {"p": 1}})", true},
    {R"({"o.p": 1})", R"({"o": {"p": 2}})", false},
    {R"({"o.p": 1})", R"({"o": 5})", false},
    {R"({"o.p.q": true})", R"({"o": {"p": {"q": true}}})", true},
    {R"({"o.p": 1})", R"({"o": [{"p": 2}, {"p": 1}]})", true},
    {R"({"o.p": 3})", R"({"o": [{"p": 2}, {"p": 1}]})", false},
    {R"({"o.0.p": 2})", R"({"o": [{"p": 2}, {"p": 1}]})", true},
    {R"({"o.1.p": 2})", R"({"o": [{"p": 2}, {"p": 1}]})", false},
    {R"({"a.1": 5})", R"({"a": [4, 5]})", true},
    {R"({"o.p": 2})", R"({"o": [{"p": [1, 2]}]})", true},
    {R"({"o.p": null})", R"({"o": [1, 2]})", true},
    {R"({"o.p": null})", R"({"o": [{"p": 1}]})", false},
    {R"({"o.p": null})", R"({"o": [{"q": 1}, {"p": 1}]})", true},
    {R"({"o.p": null})", R"({"o": 5})", true},
};
INSTANTIATE_TEST_SUITE_P(NestedPaths, Match, testing::ValuesIn(kNestedPaths));

const MatchCase kComparisons[] = {
    {R"({"a": {"$eq": 5}})", R"({"a": 5})", true},
    {R"({"a": {"$eq": null}})", R"({})", true},
    {R"({"a": {"$ne": 5}})", R"({"a": 6})", true},
    {R"({"a": {"$ne": 5}})", R"({"a": 5})", false},
    {R"({"a": {"$ne": 5}})", R"({})", true},
    {R"({"a": {"$ne": 5}})", R"({"a": [5, 6]})", false},
    {R"({"a": {"$ne": 5}})", R"({"a": [6, 7]})", true},
    {R"({"a": {"$ne": null}})", R"({})", false},
    {R"({"a": {"$ne": null}})", R"({"a": null})", false},
    {R"({"a": {"$ne": null}})", R"({"a": 1})", true},
    {R"({"a": {"$gt": 5}})", R"({"a": 6})", true},
    {R"({"a": {"$gt": 5}})", R"({"a": 5})", false},
    {R"({"a": {"$gt": 5}})", R"({"a": 5.5})", true},
    {R"({"a": {"$gt": 5}})", R"({"a": "x"})", false},
    {R"({"a": {"$gt": 5}})", R"({"a": true})", false},
    {R"({"a": {"$gt": 5}})", R"({"a": {"b": 9}})", false},
    {R"({"a": {"$gt": 5}})", R"({})", false},
    {R"({"a": {"$gt": 5}})", R"({"a": null})", false},
    {R"({"a": {"$gt": 5}})", R"({"a": [1, 9]})", true},
    {R"({"a": {"$gt": 5}})", R"({"a": [1, 2]})", false},
    {R"({"a": {"$gte": 5}})", R"({"a": 5})", true},
    {R"({"a": {"$gte": 5}})", R"({"a": 4.9})", false},
    {R"({"a": {"$lt": 5}})", R"({"a": 4})", true},
    {R"({"a": {"$lt": 5}})", R"({"a": "a"})", false},
    {R"({"a": {"$lt": 5}})", R"({"a": null})", false},
    {R"({"a": {"$lte": 5}})", R"({"a": 5.0})", true},
    {R"({"a": {"$lte": 5}})", R"({"a": 6})", false},
    {R"({"s": {"$gt": "b"}})", R"({"s": "c"})", true},
    {R"({"s": {"$gt": "b"}})", R"({"s": 5})", false},
    {R"({"s": {"$lt": "b"}})", R"({"s": 5})", false},
    {R"({"a": {"$gt": 1, "$lt": 5}})", R"({"a": 3})", true},
    {R"({"a": {"$gt": 1, "$lt": 5}})", R"({"a": 6})", false},
    {R"({"a": {"$gt": 1, "$lt": 5}})", R"({"a": [0, 10]})", true},
    {R"({"a": {"$gte": null}})", R"({})", true},
    {R"({"a": {"$gte": null}})", R"({"a": null})", true},
    {R"({"a": {"$gte": null}})", R"({"a": 1})", false},
    {R"({"a": {"$gt": null}})", R"({})", false},
    {R"({"a": {"$gt": null}})", R"({"a": null})", false},
    {R"({"big": {"$gt": 9223372036854775806}})", R"({"big": 9223372036854775807})", true},
};
INSTANTIATE_TEST_SUITE_P(Comparisons, Match, testing::ValuesIn(kComparisons));

const MatchCase kSetsAndExistence[] = {
    {R"({"a": {"$in": [1, 2]}})", R"({"a": 2})", true},
    {R"({"a": {"$in": [1, 2]}})", R"({"a": 3})", false},
    {R"({"a": {"$in": [1, 2]}})", R"({"a": [3, 1]})", true},
    {R"({"a": {"$in": [1, 2]}})", R"({})", false},
    {R"({"a": {"$in": [null]}})", R"({})", true},
    {R"({"a": {"$in": []}})", R"({"a": 1})", false},
    {R"({"a": {"$nin": [1, 2]}})", R"({"a": 3})", true},
    {R"({"a": {"$nin": [1, 2]}})", R"({"a": 1})", false},
    {R"({"a": {"$nin": [1, 2]}})", R"({})", true},
    {R"({"a": {"$nin": [1, 2]}})", R"({"a": [3, 2]})", false},
    {R"({"a": {"$exists": true}})", R"({"a": null})", true},
    {R"({"a": {"$exists": true}})", R"({})", false},
    {R"({"a": {"$exists": false}})", R"({})", true},
    {R"({"a": {"$exists": false}})", R"({"a": 1})", false},
    {R"({"a": {"$exists": 1}})", R"({"a": 0})", true},
    {R"({"o.p": {"$exists": true}})", R"({"o": {"p": 0}})", true},
    {R"({"o.p": {"$exists": true}})", R"({"o": {}})", false},
    {R"({"o.p": {"$exists": true}})", R"({"o": [{"q": 1}, {"p": 1}]})", true},
    {R"({"o.p": {"$exists": false}})", R"({"o": [{"q": 1}]})", true},
    {R"({"a": {"$not": {"$gt": 5}}})", R"({"a": 3})", true},
    {R"({"a": {"$not": {"$gt": 5}}})", R"({"a": 6})", false},
    {R"({"a": {"$not": {"$gt": 5}}})", R"({})", true},
    {R"({"a": {"$not": {"$gt": 5}}})", R"({"a": "x"})", true},
    {R"({"a": {"$not": {"$gt": 1, "$lt": 5}}})", R"({"a": 3})", false},
    {R"({"a": {"$not": {"$gt": 1, "$lt": 5}}})", R"({"a": 7})", true},
};
INSTANTIATE_TEST_SUITE_P(SetsAndExistence, Match, testing::ValuesIn(kSetsAndExistence));

const MatchCase kLogical[] = {
    {R"({"$and": [{"a": 1}, {"b": 2}]})", R"({"a": 1, "b": 2})", true},
    {R"({"$and": [{"a": 1}, {"b": 2}]})", R"({"a": 1, "b": 3})", false},
    {R"({"$or": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 2})", true},
    {R"({"$or": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 0})", false},
    {R"({"$nor": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 0})", true},
    {R"({"$nor": [{"a": 1}, {"b": 2}]})", R"({"a": 1})", false},
    {R"({"$nor": [{"a": 1}, {"b": 2}]})", R"({"b": 2})", false},
    {R"({"$nor": [{"a": 1}]})", R"({})", true},
    {R"({"$or": [{"a": {"$gt": 10}}, {"$and": [{"b": 1}, {"c": 1}]}]})", R"({"b": 1, "c": 1})",
     true},
    {R"({"$or": [{"a": {"$gt": 10}}, {"$and": [{"b": 1}, {"c": 1}]}]})", R"({"b": 1, "c": 2})",
     false},
    {R"({"$expr": {"$gt": ["$a", "$b"]}})", R"({"a": 2, "b": 1})", true},
    {R"({"$expr": {"$gt": ["$a", "$b"]}})", R"({"a": 1, "b": 2})", false},
    {R"({"$expr": "$flag"})", R"({"flag": 0})", false},
    {R"({"$expr": "$flag"})", R"({"flag": "on"})", true},
    {R"({"$expr": {"$eq": [{"$divide": ["$a", 0]}, null]}, "a": 3})", R"({"a": 3})", true},
};
INSTANTIATE_TEST_SUITE_P(Logical, Match, testing::ValuesIn(kLogical));

// Invalid queries: the ConfigError names the exact JSON path.
struct InvalidQuery {
  const char* query;
  const char* path;
  const char* message_start;
};

void PrintTo(const InvalidQuery& c, std::ostream* os) { *os << c.query; }

class MatchInvalid : public testing::TestWithParam<InvalidQuery> {};

TEST_P(MatchInvalid, ThrowsConfigErrorAtPath) {
  const InvalidQuery& c = GetParam();
  json q = json::parse(c.query);
  try {
    compile_match(config::Node(q, "/q"));
    FAIL() << "no ConfigError for " << c.query;
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.path(), c.path);
    EXPECT_EQ(e.message().rfind(c.message_start, 0), 0u) << e.what();
  }
}

const InvalidQuery kInvalidQueries[] = {
    {R"({"a": {"$regex": "x"}})", "/q/a/$regex",
     R"(unknown query operator "$regex", expected one of $eq, $ne, $gt, $gte, $lt, $lte, $in, )"
     R"($nin, $exists, $not)"},
    {R"({"$where": "x"})", "/q/$where", R"(unknown top-level query operator "$where")"},
    {R"({"$and": []})", "/q/$and", "got [], expected a non-empty array"},
    {R"({"$or": {}})", "/q/$or", "got {}, expected a non-empty array"},
    {R"({"$nor": [1]})", "/q/$nor/0", "got 1, expected an object"},
    {R"({"a": {"$in": 5}})", "/q/a/$in", "got 5, expected an array"},
    {R"({"a": {"$nin": "x"}})", "/q/a/$nin", R"(got "x", expected an array)"},
    {R"({"a": {"$gt": 1, "b": 2}})", "/q/a/b", R"(unknown query operator "b")"},
    {R"({"a": {"$not": 5}})", "/q/a/$not", "got 5, expected an operator object"},
    {R"({"a": {"$not": {"$bad": 5}}})", "/q/a/$not/$bad", R"(unknown query operator "$bad")"},
    {R"({"a": {"$exists": "yes"}})", "/q/a/$exists", R"(got "yes", expected true or false)"},
    {R"({"$expr": {"$bogus": 1}})", "/q/$expr", R"(unknown expression operator "$bogus")"},
    {R"({"$or": [{"a": {"$bad": 1}}]})", "/q/$or/0/a/$bad", R"(unknown query operator "$bad")"},
    {R"({"a..b": 1})", "/q/a..b", R"(invalid field path "a..b")"},
    {R"([])", "/q", "got [], expected an object"},
};
INSTANTIATE_TEST_SUITE_P(Table, MatchInvalid, testing::ValuesIn(kInvalidQueries));

class FakeContext final : public StageContext {
 public:
  void forward(Record&& record) override { forwarded.push_back(std::move(record)); }
  void reject(std::string_view reason, std::string_view detail) override {
    rejected.emplace_back(std::string(reason) + ": " + std::string(detail));
  }
  TimeMs now() const override { return 0; }

  std::vector<Record> forwarded;
  std::vector<std::string> rejected;
};

TEST(MatchStage, PassesMatchingRecordsAndDropsOthers) {
  json spec = json::parse(R"({"temp": {"$gte": 30}, "device": {"$in": ["d1", "d2"]}})");
  auto stage = make_match(config::Node(spec, "/pipelines/0/pipeline/0/$match"), {"p", 0, "", {}});
  FakeContext ctx;
  const std::pair<const char*, StageResult> cases[] = {
      {R"({"temp": 31, "device": "d1"})", StageResult::kPass},
      {R"({"temp": 29, "device": "d1"})", StageResult::kDrop},
      {R"({"temp": 35, "device": "d3"})", StageResult::kDrop},
      {R"({"temp": "35", "device": "d2"})", StageResult::kDrop},
  };
  for (const auto& [doc, want] : cases) {
    Record r;
    r.doc = config::to_value(json::parse(doc));
    std::string before = r.doc.to_json();
    EXPECT_EQ(stage->process(r, ctx), want) << doc;
    EXPECT_EQ(r.doc.to_json(), before);
  }
  EXPECT_TRUE(ctx.forwarded.empty());
  EXPECT_TRUE(ctx.rejected.empty());
}

TEST(MatchStage, DescribesItself) {
  EXPECT_EQ(match_info().name, "$match");
  EXPECT_FALSE(match_info().description.empty());
  EXPECT_TRUE(match_info().options.empty());
}

TEST(MatchStage, InvalidSpecNamesStagePath) {
  json spec = json::parse(R"({"temp": {"$gt": 1, "$near": 2}})");
  try {
    make_match(config::Node(spec, "/pipelines/1/pipeline/0/$match"), {"p", 0, "", {}});
    FAIL() << "no ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.path(), "/pipelines/1/pipeline/0/$match/temp/$near");
  }
}

}  // namespace
}  // namespace weir::pipeline
