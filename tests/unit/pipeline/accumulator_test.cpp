// $group accumulators one by one: hand-computed results, merge() against adding everything
// to one state, the DDSketch's error bound and size bound, limits, ties, memory and the
// config errors of the new accumulators.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/window/accumulator.hpp"
#include "pipeline/window/ddsketch.hpp"
#include "pipeline/window/group_spec.hpp"
#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {
namespace {

using json = config::Json;

// A reading: fields v (the input of most accumulators), f and g (sort keys), each
// possibly missing.
struct Reading {
  TimeMs t;
  Value doc;
};

Reading reading(TimeMs t, std::optional<Value> v, std::optional<Value> f = std::nullopt,
                std::optional<Value> g = std::nullopt) {
  Value doc = Value::object();
  if (v) doc.set("v", *v);
  if (f) doc.set("f", *f);
  if (g) doc.set("g", *g);
  return Reading{t, std::move(doc)};
}

// A $group of named accumulators; the spec outlives the states it makes.
GroupSpec group_of(const json& accumulators) {
  json g = {{"_id", nullptr}};
  for (auto it = accumulators.begin(); it != accumulators.end(); ++it) g[it.key()] = it.value();
  return GroupSpec::compile(config::Node(g, "/g"));
}

GroupSpec group_one(const json& acc) { return group_of(json{{"a", acc}}); }

Value result_of(const GroupSpec& spec, const std::vector<Reading>& readings, size_t i = 0) {
  GroupState s = spec.new_state();
  for (const auto& r : readings) s.add(r.doc, r.t);
  return s.result(i);
}

std::string text(const Value& v) { return v.to_json(); }

// Equal values: doubles within a relative 1e-9, everything else exactly and of the same type.
::testing::AssertionResult same(const Value& a, const Value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.as_double();
    const double y = b.as_double();
    if (std::fabs(x - y) <= 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)})) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << x << " vs " << y;
  }
  if (a.type() != b.type()) return ::testing::AssertionFailure() << text(a) << " vs " << text(b);
  if (a.is_array() || a.is_object()) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << text(a) << " vs " << text(b);
    for (size_t i = 0; i < a.size(); ++i) {
      if (a.is_object() && a.key(i) != b.key(i)) {
        return ::testing::AssertionFailure() << text(a) << " vs " << text(b);
      }
      auto r = same(a.at(i), b.at(i));
      if (!r) return r << " in " << text(a) << " vs " << text(b);
    }
    return ::testing::AssertionSuccess();
  }
  if (compare(a, b) != 0) return ::testing::AssertionFailure() << text(a) << " vs " << text(b);
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------
// Hand-computed results

TEST(Accumulator, StateSizesPerKind) {
  // $push and $addToSet hold containers (pointers): smaller where pointers have 32 bits;
  // every state is rounded up to 8 bytes.
  constexpr bool k64 = sizeof(void*) == 8;
  const std::pair<json, size_t> cases[] = {
      {{{"$count", json::object()}}, 8},
      {{{"$sum", "$v"}}, 40},
      {{{"$avg", "$v"}}, 40},
      {{{"$min", "$v"}}, 24},
      {{{"$last", "$v"}}, 24},
      {{{"$stdDevSamp", "$v"}}, 24},
      {{{"$median", {{"input", "$v"}, {"method", "approximate"}}}}, 8},
      {{{"$percentile", {{"input", "$v"}, {"p", {0.5}}, {"method", "approximate"}}}}, 8},
      {{{"$push", "$v"}}, k64 ? 24 : 16},
      {{{"$addToSet", "$v"}}, k64 ? 32 : 16},
      {{{"$top", {{"sortBy", {{"f", 1}}}, {"output", "$v"}}}}, 8},
      {{{"$bottom", {{"sortBy", {{"f", 1}}}, {"output", "$v"}}}}, 8},
  };
  for (const auto& [acc, size] : cases) {
    GroupSpec spec = group_one(acc);
    EXPECT_EQ(spec.accumulators()[0].state_size(), size) << acc.dump();
    EXPECT_EQ(spec.state_bytes(), size);
    // An empty state owns nothing on the heap.
    EXPECT_EQ(spec.new_state().memory_bytes(), size) << acc.dump();
  }
}

TEST(Accumulator, CountSumAvgMerge) {
  GroupSpec spec = group_of({{"n", {{"$count", json::object()}}}, {"s", {{"$sum", "$v"}}},
                             {"a", {{"$avg", "$v"}}}});
  GroupState x = spec.new_state();
  GroupState y = spec.new_state();
  x.add(reading(1, Value(int64_t{4})).doc, 1);
  x.add(reading(2, Value("text")).doc, 2);
  y.add(reading(3, Value(int64_t{5})).doc, 3);
  y.add(reading(4, std::nullopt).doc, 4);
  x.merge(y);
  EXPECT_EQ(text(x.result(0)), "4");
  EXPECT_TRUE(x.result(1).is_int());
  EXPECT_EQ(x.result(1).as_int(), 9);
  EXPECT_DOUBLE_EQ(x.result(2).as_double(), 4.5);
  // y is unchanged by being merged from.
  EXPECT_EQ(text(y.result(0)), "2");
  EXPECT_EQ(text(y.result(1)), "5");
}

TEST(Accumulator, SumMergeFallsBackToDoubleOnOverflow) {
  GroupSpec spec = group_one({{"$sum", "$v"}});
  GroupState x = spec.new_state();
  GroupState y = spec.new_state();
  x.add(reading(1, Value(int64_t{INT64_MAX})).doc, 1);
  y.add(reading(2, Value(int64_t{1})).doc, 2);
  x.merge(y);
  EXPECT_TRUE(x.result(0).is_double());
  EXPECT_DOUBLE_EQ(x.result(0).as_double(), 9223372036854775808.0);
  // A double in either side ends the integer path too.
  GroupState z = spec.new_state();
  GroupState w = spec.new_state();
  z.add(reading(1, Value(int64_t{2})).doc, 1);
  w.add(reading(2, Value(0.5)).doc, 2);
  z.merge(w);
  EXPECT_TRUE(z.result(0).is_double());
  EXPECT_DOUBLE_EQ(z.result(0).as_double(), 2.5);
}

TEST(Accumulator, CompensatedSumSurvivesMerge) {
  GroupSpec spec = group_one({{"$sum", "$v"}});
  GroupState big = spec.new_state();
  GroupState ones = spec.new_state();
  GroupState minus = spec.new_state();
  big.add(reading(0, Value(1e16)).doc, 0);
  // 1e16 + 1 is not a double: each merge of a single 1.0 relies on the compensation.
  for (int i = 1; i <= 1000; ++i) {
    GroupState one = spec.new_state();
    one.add(reading(i, Value(1.0)).doc, i);
    big.merge(one);
    ones.add(reading(i, Value(1.0)).doc, i);
  }
  minus.add(reading(2000, Value(-1e16)).doc, 2000);
  minus.merge(ones);
  big.merge(minus);
  EXPECT_EQ(big.result(0).as_double(), 2000.0);
}

TEST(Accumulator, MinMaxFirstLastMergeAndTies) {
  GroupSpec spec = group_of({{"min", {{"$min", "$v"}}}, {"max", {{"$max", "$v"}}},
                             {"first", {{"$first", "$v"}}}, {"last", {{"$last", "$v"}}}});
  GroupState x = spec.new_state();
  GroupState y = spec.new_state();
  x.add(reading(10, Value("m")).doc, 10);
  x.add(reading(20, Value(int64_t{3})).doc, 20);
  y.add(reading(5, Value(true)).doc, 5);
  y.add(reading(30, Value(1.5)).doc, 30);
  x.merge(y);
  EXPECT_EQ(text(x.result(0)), "1.5");
  EXPECT_EQ(text(x.result(1)), "true");
  EXPECT_EQ(text(x.result(2)), "true");
  EXPECT_EQ(text(x.result(3)), "1.5");

  // Equal event times: dst's readings count as the earlier arrivals.
  GroupState a = spec.new_state();
  GroupState b = spec.new_state();
  a.add(reading(7, Value("a")).doc, 7);
  b.add(reading(7, Value("b")).doc, 7);
  GroupState ab = a.clone();
  ab.merge(b);
  EXPECT_EQ(text(ab.result(2)), "\"a\"");
  EXPECT_EQ(text(ab.result(3)), "\"b\"");
  GroupState ba = b.clone();
  ba.merge(a);
  EXPECT_EQ(text(ba.result(2)), "\"b\"");
  EXPECT_EQ(text(ba.result(3)), "\"a\"");

  // $min of 1 and 1.0 (equal under compare): the earlier event time's, whatever the order.
  for (bool int_first : {true, false}) {
    GroupState s = spec.new_state();
    Reading early = reading(1, Value(int64_t{1}));
    Reading late = reading(2, Value(1.0));
    if (int_first) {
      s.add(early.doc, early.t);
      s.add(late.doc, late.t);
    } else {
      s.add(late.doc, late.t);
      s.add(early.doc, early.t);
    }
    EXPECT_TRUE(s.result(0).is_int()) << int_first;
    EXPECT_TRUE(s.result(1).is_int()) << int_first;
  }
}

TEST(Accumulator, StandardDeviationsMergeByChan) {
  GroupSpec spec = group_of({{"pop", {{"$stdDevPop", "$v"}}}, {"samp", {{"$stdDevSamp", "$v"}}}});
  GroupState x = spec.new_state();
  GroupState y = spec.new_state();
  TimeMs t = 0;
  for (int64_t v : {2, 4, 4, 4}) {
    ++t;
    x.add(reading(t, Value(v)).doc, t);
  }
  for (int64_t v : {5, 5, 7, 9}) {
    ++t;
    y.add(reading(t, Value(v)).doc, t);
  }
  x.merge(y);
  EXPECT_DOUBLE_EQ(x.result(0).as_double(), 2.0);
  EXPECT_DOUBLE_EQ(x.result(1).as_double(), std::sqrt(32.0 / 7.0));
  // Large offsets: the combination keeps the small deviations.
  GroupState p = spec.new_state();
  GroupState q = spec.new_state();
  p.add(reading(1, Value(1e9 + 4)).doc, 1);
  p.add(reading(2, Value(1e9 + 7)).doc, 2);
  q.add(reading(3, Value(1e9 + 13)).doc, 3);
  q.add(reading(4, Value(1e9 + 16)).doc, 4);
  p.merge(q);
  EXPECT_NEAR(p.result(0).as_double(), std::sqrt(22.5), 1e-6);
  EXPECT_NEAR(p.result(1).as_double(), std::sqrt(30.0), 1e-6);
}

TEST(Accumulator, MedianAndPercentile) {
  GroupSpec spec = group_of(
      {{"med", {{"$median", {{"input", "$v"}, {"method", "approximate"}}}}},
       {"pct", {{"$percentile", {{"input", "$v"}, {"p", {0.0, 0.5, 0.9, 1.0}}, {"method", "approximate"}}}}}});
  GroupState s = spec.new_state();
  EXPECT_TRUE(s.result(0).is_null());
  EXPECT_EQ(text(s.result(1)), "[null,null,null,null]");
  // 1..100 in a scrambled order, plus values that are ignored.
  for (int i = 0; i < 100; ++i) {
    const int64_t v = (i * 37) % 100 + 1;
    s.add(reading(i, Value(v)).doc, i);
  }
  s.add(reading(200, Value("text")).doc, 200);
  s.add(reading(201, Value(std::nan(""))).doc, 201);
  s.add(reading(202, Value(HUGE_VAL)).doc, 202);
  s.add(reading(203, std::nullopt).doc, 203);
  // Ranks floor(q * 99): 0, 49, 89, 99 -> the values 1, 50, 90, 100.
  EXPECT_NEAR(s.result(0).as_double(), 50.0, 0.5);
  const Value p = s.result(1);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_NEAR(p.at(0).as_double(), 1.0, 0.01);
  EXPECT_NEAR(p.at(1).as_double(), 50.0, 0.5);
  EXPECT_NEAR(p.at(2).as_double(), 90.0, 0.9);
  EXPECT_NEAR(p.at(3).as_double(), 100.0, 1.0);
  // The rank is floor(q * (n - 1)): of {10, 20}, the median is 10, not 20.
  GroupState two = spec.new_state();
  two.add(reading(1, Value(int64_t{20})).doc, 1);
  two.add(reading(2, Value(int64_t{10})).doc, 2);
  EXPECT_NEAR(two.result(0).as_double(), 10.0, 0.1);
  // Only non-finite or non-numeric input: still null.
  GroupState none = spec.new_state();
  none.add(reading(1, Value(std::nan(""))).doc, 1);
  none.add(reading(2, Value("x")).doc, 2);
  EXPECT_TRUE(none.result(0).is_null());
  EXPECT_EQ(none.memory_bytes(), spec.state_bytes());  // no sketch allocated
}

TEST(Accumulator, PushInEventTimeOrderWithLimit) {
  GroupSpec spec = group_one({{"$push", "$v"}});
  std::vector<Reading> rs = {reading(3, Value("c")), reading(1, Value("a")), reading(2, Value("b")),
                             reading(2, Value("b2")), reading(4, std::nullopt), reading(0, Value())};
  EXPECT_EQ(text(result_of(spec, rs)), R"([null,"a","b","b2","c"])");
  EXPECT_EQ(text(result_of(spec, {})), "[]");

  GroupSpec limited = group_one({{"$push", {{"input", "$v"}, {"limit", 2}}}});
  // The first two in event time, whatever the arrival order.
  EXPECT_EQ(text(result_of(limited, {reading(5, Value(int64_t{5})), reading(4, Value(int64_t{4})),
                                     reading(3, Value(int64_t{3}))})),
            "[3,4]");
  EXPECT_EQ(text(result_of(limited, {reading(3, Value(int64_t{3})), reading(3, Value(int64_t{33})),
                                     reading(3, Value(int64_t{333}))})),
            "[3,33]");
  // A document expression as the input.
  GroupSpec doc = group_one({{"$push", {{"input", {{"x", "$v"}}}}}});
  EXPECT_EQ(text(result_of(doc, {reading(1, Value(int64_t{1}))})), R"([{"x":1}])");
  // The default limit is 1000.
  std::vector<Reading> many;
  for (int i = 0; i < 1500; ++i) many.push_back(reading(1500 - i, Value(int64_t{1500 - i})));
  const Value all = result_of(spec, many);
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.at(0).as_int(), 1);
  EXPECT_EQ(all.at(999).as_int(), 1000);
}

TEST(Accumulator, PushMergeOrdersTiesDstFirst) {
  GroupSpec spec = group_one({{"$push", {{"input", "$v"}, {"limit", 3}}}});
  GroupState a = spec.new_state();
  GroupState b = spec.new_state();
  a.add(reading(5, Value("a5")).doc, 5);
  a.add(reading(9, Value("a9")).doc, 9);
  b.add(reading(5, Value("b5")).doc, 5);
  b.add(reading(1, Value("b1")).doc, 1);
  GroupState ab = a.clone();
  ab.merge(b);
  EXPECT_EQ(text(ab.result(0)), R"(["b1","a5","b5"])");
  GroupState ba = b.clone();
  ba.merge(a);
  EXPECT_EQ(text(ba.result(0)), R"(["b1","b5","a5"])");
  // Merging a state with itself doubles its readings.
  GroupState self = a.clone();
  self.merge(self);
  EXPECT_EQ(text(self.result(0)), R"(["a5","a5","a9"])");
}

TEST(Accumulator, AddToSetDistinctByEarliestTime) {
  GroupSpec spec = group_one({{"$addToSet", "$v"}});
  std::vector<Reading> rs = {reading(10, Value(int64_t{3})), reading(20, Value(int64_t{1})),
                             reading(5, Value(3.0)),         reading(20, Value(int64_t{2})),
                             reading(30, Value(int64_t{1})), reading(1, std::nullopt)};
  // 3 first seen at 5 (as 3.0), then 1 and 2 at 20 (by value).
  EXPECT_EQ(text(result_of(spec, rs)), "[3,1,2]");
  EXPECT_TRUE(result_of(spec, rs).at(0).is_double());

  GroupSpec two = group_one({{"$addToSet", {{"input", "$v"}, {"limit", 2}}}});
  EXPECT_EQ(text(result_of(two, rs)), "[3,1]");
  // A value that came too late can come back in at an earlier time.
  GroupSpec one = group_one({{"$addToSet", {{"input", "$v"}, {"limit", 1}}}});
  EXPECT_EQ(text(result_of(one, {reading(10, Value("b")), reading(20, Value("a")), reading(5, Value("a"))})),
            R"(["a"])");
  EXPECT_EQ(text(result_of(one, {reading(10, Value("b")), reading(20, Value("a")), reading(15, Value("a"))})),
            R"(["b"])");
  // Documents and arrays are values too.
  Value d = Value::object();
  d.set("k", int64_t{1});
  EXPECT_EQ(text(result_of(spec, {reading(1, d), reading(2, d), reading(3, Value())})), R"([{"k":1},null])");
}

TEST(Accumulator, TopAndBottomWithTies) {
  const json sort = {{"f", 1}, {"g", -1}};
  GroupSpec spec = group_of({{"top", {{"$top", {{"sortBy", sort}, {"output", "$v"}}}}},
                             {"bottom", {{"$bottom", {{"sortBy", sort}, {"output", "$v"}}}}}});
  GroupState empty = spec.new_state();
  EXPECT_TRUE(empty.result(0).is_null());
  EXPECT_TRUE(empty.result(1).is_null());

  const Value i1(int64_t{1});
  const Value i2(int64_t{2});
  const Value i5(int64_t{5});
  std::vector<Reading> rs = {reading(1, Value("A"), i2, i1), reading(2, Value("B"), i1, i1),
                             reading(3, Value("C"), i1, i5)};
  EXPECT_EQ(text(result_of(spec, rs, 0)), "\"C\"");  // f 1, then g descending: 5 first
  EXPECT_EQ(text(result_of(spec, rs, 1)), "\"A\"");
  // A missing sort field compares as null: before every number.
  rs.push_back(reading(4, Value("D"), std::nullopt, i1));
  EXPECT_EQ(text(result_of(spec, rs, 0)), "\"D\"");
  // Missing output: null.
  EXPECT_TRUE(result_of(spec, {reading(1, std::nullopt, i1, i1)}, 0).is_null());

  // Equal keys: the earliest event time, whatever the arrival order; on equal times the
  // earliest arrival.
  std::vector<Reading> ties = {reading(9, Value("late"), i1, i1), reading(3, Value("early"), i1, i1),
                               reading(3, Value("early-second"), i1, i1)};
  EXPECT_EQ(text(result_of(spec, ties, 0)), "\"early\"");
  EXPECT_EQ(text(result_of(spec, ties, 1)), "\"early\"");
  // Merge: on equal keys and times dst's reading stays.
  GroupState a = spec.new_state();
  GroupState b = spec.new_state();
  a.add(reading(3, Value("a"), i1, i1).doc, 3);
  b.add(reading(3, Value("b"), i1, i1).doc, 3);
  GroupState ab = a.clone();
  ab.merge(b);
  EXPECT_EQ(text(ab.result(0)), "\"a\"");
  EXPECT_EQ(text(ab.result(1)), "\"a\"");
  b.add(reading(2, Value("b2"), i1, i1).doc, 2);
  ab.merge(b);
  EXPECT_EQ(text(ab.result(0)), "\"b2\"");
  EXPECT_EQ(text(ab.result(1)), "\"b2\"");
}

// ---------------------------------------------------------------------------------------
// merge() == adding everything to one state, for every kind, over many random streams.

const json kEveryKind = {
    {"count", {{"$count", json::object()}}},
    {"sum", {{"$sum", "$v"}}},
    {"avg", {{"$avg", "$v"}}},
    {"min", {{"$min", "$v"}}},
    {"max", {{"$max", "$v"}}},
    {"first", {{"$first", "$v"}}},
    {"last", {{"$last", "$v"}}},
    {"pop", {{"$stdDevPop", "$v"}}},
    {"samp", {{"$stdDevSamp", "$v"}}},
    {"median", {{"$median", {{"input", "$v"}, {"method", "approximate"}}}}},
    {"pct", {{"$percentile", {{"input", "$v"}, {"p", {0.0, 0.1, 0.5, 0.9, 1.0}}, {"method", "approximate"}}}}},
    {"push", {{"$push", "$v"}}},
    {"push3", {{"$push", {{"input", "$v"}, {"limit", 3}}}}},
    {"set", {{"$addToSet", "$v"}}},
    {"set4", {{"$addToSet", {{"input", "$v"}, {"limit", 4}}}}},
    {"top", {{"$top", {{"sortBy", {{"f", 1}, {"g", -1}}}, {"output", "$v"}}}}},
    {"bottom", {{"$bottom", {{"sortBy", {{"f", 1}, {"g", -1}}}, {"output", "$v"}}}}},
};

std::optional<Value> random_value(std::mt19937_64& rng, bool numeric_only) {
  std::uniform_int_distribution<int> pick(0, numeric_only ? 2 : 8);
  std::uniform_int_distribution<int64_t> small(-20, 20);
  std::uniform_real_distribution<double> real(-100.0, 100.0);
  switch (pick(rng)) {
    case 0: return Value(small(rng));
    case 1: return Value(real(rng));
    case 2: return Value(static_cast<double>(small(rng)));  // equal to an int under compare
    case 3: return Value(std::string(1 + static_cast<size_t>(small(rng) & 1), static_cast<char>('a' + (small(rng) & 3))));
    case 4: return Value();
    case 5: return std::nullopt;
    case 6: return Value(small(rng) > 0);
    case 7: {
      Value d = Value::object();
      d.set("k", small(rng) & 3);
      return d;
    }
    default: return Value(std::string(40, static_cast<char>('k' + (small(rng) & 3))));  // on the heap
  }
}

std::vector<Reading> random_stream(std::mt19937_64& rng, size_t n, bool numeric_only) {
  // Distinct event times in a random arrival order.
  std::vector<TimeMs> times(n);
  std::iota(times.begin(), times.end(), TimeMs{0});
  std::shuffle(times.begin(), times.end(), rng);
  std::uniform_int_distribution<int> key(0, 3);
  std::vector<Reading> out;
  for (size_t i = 0; i < n; ++i) {
    auto f = key(rng) == 0 ? std::nullopt : std::optional<Value>(Value(int64_t{key(rng)}));
    auto g = key(rng) == 0 ? std::nullopt : std::optional<Value>(Value(int64_t{key(rng)}));
    out.push_back(reading(times[i] * 3 - 50, random_value(rng, numeric_only), f, g));
  }
  return out;
}

TEST(AccumulatorMerge, EqualsAddingEverythingToOneState) {
  GroupSpec spec = group_of(kEveryKind);
  const size_t n_acc = spec.accumulators().size();
  int compared = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    std::mt19937_64 rng(seed);
    const size_t n = std::uniform_int_distribution<size_t>(0, seed % 10 == 0 ? 400 : 40)(rng);
    const auto stream = random_stream(rng, n, seed % 3 == 0);
    GroupState whole = spec.new_state();
    for (const auto& r : stream) whole.add(r.doc, r.t);

    // The same readings split over 1 to 5 states (arrival order kept within each).
    const size_t parts = std::uniform_int_distribution<size_t>(1, 5)(rng);
    std::vector<GroupState> states;
    for (size_t i = 0; i < parts; ++i) states.push_back(spec.new_state());
    for (const auto& r : stream) states[std::uniform_int_distribution<size_t>(0, parts - 1)(rng)].add(r.doc, r.t);
    std::shuffle(states.begin(), states.end(), rng);

    // Merged two ways: left to right, and as a tree (pairs, then pairs of pairs).
    GroupState left = states[0].clone();
    for (size_t i = 1; i < parts; ++i) left.merge(states[i]);
    std::vector<GroupState> level;
    for (auto& s : states) level.push_back(s.clone());
    while (level.size() > 1) {
      std::vector<GroupState> next;
      for (size_t i = 0; i + 1 < level.size(); i += 2) {
        level[i].merge(level[i + 1]);
        next.push_back(std::move(level[i]));
      }
      if (level.size() % 2 == 1) next.push_back(std::move(level.back()));
      level = std::move(next);
    }
    // Into an invalid state: a copy.
    GroupState from_nothing;
    from_nothing.merge(left);

    for (size_t i = 0; i < n_acc; ++i) {
      const std::string& name = spec.accumulators()[i].output();
      const Value expected = whole.result(i);
      EXPECT_TRUE(same(left.result(i), expected)) << name << " seed " << seed << " parts " << parts;
      EXPECT_TRUE(same(level[0].result(i), expected)) << name << " (tree) seed " << seed;
      EXPECT_TRUE(same(from_nothing.result(i), expected)) << name << " (copy) seed " << seed;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 400 * static_cast<int>(n_acc));
}

// The merged $median and $percentile are the whole stream's exactly (same bins), and within
// 1% of the exact rank.
TEST(AccumulatorMerge, SketchesMatchTheExactRank) {
  GroupSpec spec = group_one({{"$percentile", {{"input", "$v"}, {"p", {0.0, 0.25, 0.5, 0.75, 0.99, 1.0}}, {"method", "approximate"}}}});
  const std::vector<double> ps = {0.0, 0.25, 0.5, 0.75, 0.99, 1.0};
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> dist(0.0, 3.0);
    std::vector<double> values;
    GroupState a = spec.new_state();
    GroupState b = spec.new_state();
    for (int i = 0; i < 500; ++i) {
      const double x = (i % 4 == 0 ? -1 : 1) * dist(rng);
      values.push_back(x);
      (rng() % 2 == 0 ? a : b).add(reading(i, Value(x)).doc, i);
    }
    a.merge(b);
    std::sort(values.begin(), values.end());
    const Value r = a.result(0);
    ASSERT_EQ(r.size(), ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      const double exact = values[static_cast<size_t>(std::floor(ps[i] * static_cast<double>(values.size() - 1)))];
      EXPECT_LE(std::fabs(r.at(i).as_double() - exact), 0.01 * std::fabs(exact)) << "seed " << seed << " p " << ps[i];
    }
  }
}

// ---------------------------------------------------------------------------------------
// DDSketch

void expect_within_bound(const std::vector<double>& input, const std::string& what) {
  DDSketch sketch;
  for (double x : input) sketch.add(x);
  std::vector<double> sorted = input;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(sketch.count(), sorted.size()) << what;
  ASSERT_FALSE(sketch.collapsed()) << what;
  std::vector<double> qs = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};
  std::mt19937_64 rng(sorted.size());
  for (int i = 0; i < 40; ++i) qs.push_back(std::uniform_real_distribution<double>(0.0, 1.0)(rng));
  for (double q : qs) {
    const double exact = sorted[static_cast<size_t>(std::floor(q * static_cast<double>(sorted.size() - 1)))];
    const auto est = sketch.quantile(q);
    ASSERT_TRUE(est.has_value());
    EXPECT_LE(std::fabs(*est - exact), 0.01 * std::fabs(exact))
        << what << " n " << sorted.size() << " q " << q << " exact " << exact << " got " << *est;
  }
}

TEST(DDSketch, RelativeErrorWithinOnePercentOfTheExactRank) {
  for (size_t n : {1u, 2u, 3u, 10u, 1000u, 20000u}) {
    std::mt19937_64 rng(n * 7919);
    std::vector<double> uniform, lognormal, normal, zeros, constant, ones, ints;
    std::uniform_real_distribution<double> u(0.0, 1000.0);
    std::uniform_real_distribution<double> log_span(std::log(1e-3), std::log(1e6));
    std::normal_distribution<double> nd(0.0, 100.0);
    for (size_t i = 0; i < n; ++i) {
      uniform.push_back(u(rng));
      lognormal.push_back(std::exp(log_span(rng)));
      normal.push_back(nd(rng));
      zeros.push_back(i % 3 == 0 ? 0.0 : (i % 3 == 1 ? -std::exp(log_span(rng)) : std::exp(log_span(rng))));
      constant.push_back(42.125);
      ones.push_back(1.0);  // exactly on a bin boundary (gamma^0)
      ints.push_back(static_cast<double>(static_cast<int64_t>(u(rng)) - 500));
    }
    expect_within_bound(uniform, "uniform");
    expect_within_bound(lognormal, "lognormal 1e-3..1e6");
    expect_within_bound(normal, "normal with negatives");
    expect_within_bound(zeros, "zeros and both signs");
    expect_within_bound(constant, "constant");
    expect_within_bound(ones, "ones");
    expect_within_bound(ints, "integers");
  }
}

TEST(DDSketch, PowersOfGammaAndExtremes) {
  // Values right on and next to the bin boundaries, and the ends of the doubles.
  std::vector<double> xs;
  const double gamma = 1.01 / 0.99;
  for (int k = -300; k <= 300; k += 7) {
    const double b = std::pow(gamma, k);
    xs.push_back(b);
    xs.push_back(std::nextafter(b, 0.0));
    xs.push_back(std::nextafter(b, HUGE_VAL));
  }
  expect_within_bound(xs, "boundaries");
  // The ends of the doubles (each alone: together they would span more than 2048 bins).
  const double max = std::numeric_limits<double>::max();  // the top bin reaches past it
  for (double x : {1.7e308, -1.7e308, max, -max, std::numeric_limits<double>::min(), 1e-300, 1e-310}) {
    xs.push_back(x);
  }
  for (double x : xs) expect_within_bound({x}, "single " + std::to_string(x));
  expect_within_bound({max, 1.7e308, 1e300, -max, -1e300}, "top of the doubles");
}

TEST(DDSketch, IgnoresNonFiniteAndAnswersNothingWhenEmpty) {
  DDSketch s;
  EXPECT_FALSE(s.quantile(0.5).has_value());
  s.add(std::nan(""));
  s.add(HUGE_VAL);
  s.add(-HUGE_VAL);
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.quantile(0.0).has_value());
  s.add(-0.0);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(*s.quantile(1.0), 0.0);
  EXPECT_EQ(s.heap_bytes(), 0u);  // zeros take no bins
}

TEST(DDSketch, BinsStayBoundedAcrossThe600DecadesOfDoubles) {
  DDSketch s;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-300.0, 300.0);
  double largest = 0;
  double most_negative = 0;
  for (int i = 0; i < 1000000; ++i) {
    const double x = std::pow(10.0, exponent(rng));
    s.add(i % 2 == 0 ? x : -x);
    if (i % 2 == 0) largest = std::max(largest, x);
    if (i % 2 == 1) most_negative = std::min(most_negative, -x);
  }
  EXPECT_EQ(s.count(), 1000000u);
  EXPECT_LE(s.positive_bins(), 2048u);
  EXPECT_LE(s.negative_bins(), 2048u);
  EXPECT_GE(s.positive_bins(), 2000u);  // the range really needed collapsing
  EXPECT_TRUE(s.collapsed());
  EXPECT_LE(s.heap_bytes(), 2 * 2048 * sizeof(uint32_t) * 2);  // vector slack included
  // The high-magnitude ends keep their accuracy: the largest value and the most negative.
  EXPECT_LE(std::fabs(*s.quantile(1.0) - largest), 0.01 * largest);
  EXPECT_LE(std::fabs(*s.quantile(0.0) - most_negative), 0.01 * -most_negative);
  // Merging into a sketch with a lower value stays bounded.
  DDSketch t;
  t.add(1e-305);
  t.merge(s);
  EXPECT_LE(t.positive_bins(), 2048u);
  EXPECT_EQ(t.count(), 1000001u);
}

TEST(DDSketch, MergeEqualsOneSketchWhenNothingCollapsed) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0.0, 1e4);
    DDSketch whole, a, b;
    for (int i = 0; i < 2000; ++i) {
      const double x = i % 17 == 0 ? 0.0 : nd(rng);
      whole.add(x);
      (rng() % 3 == 0 ? a : b).add(x);
    }
    a.merge(b);
    ASSERT_EQ(a.count(), whole.count());
    for (double q = 0.0; q <= 1.0; q += 0.01) EXPECT_EQ(*a.quantile(q), *whole.quantile(q)) << seed << " " << q;
    // Self-merge doubles every count: the quantiles stay where they are.
    DDSketch self = whole;
    self.merge(self);
    EXPECT_EQ(self.count(), 2 * whole.count());
    EXPECT_EQ(*self.quantile(0.0), *whole.quantile(0.0));
    EXPECT_EQ(*self.quantile(1.0), *whole.quantile(1.0));
  }
}

// ---------------------------------------------------------------------------------------
// Memory, copies, lifetime

TEST(GroupState, HeapBytesGrowWithPushedValues) {
  GroupSpec spec = group_one({{"$push", "$v"}});
  GroupState s = spec.new_state();
  const std::string payload(100, 'x');
  for (int i = 0; i < 10; ++i) s.add(reading(i, Value(payload)).doc, i);
  const size_t ten = s.memory_bytes();
  for (int i = 10; i < 100; ++i) s.add(reading(i, Value(payload)).doc, i);
  const size_t hundred = s.memory_bytes();
  EXPECT_GE(ten, 10 * payload.size());
  EXPECT_GE(hundred, 100 * payload.size());
  EXPECT_GT(hundred, ten + 90 * payload.size());
  EXPECT_LT(hundred, 100 * (payload.size() + 200));  // honest, not inflated
}

TEST(GroupState, HeapBytesOfEveryKind) {
  // One reading with a 64-character string in v and g: the kinds that keep a value own it.
  const std::string v(64, 'q');
  for (auto it = kEveryKind.begin(); it != kEveryKind.end(); ++it) {
    GroupSpec spec = group_one(it.value());
    GroupState s = spec.new_state();
    s.add(reading(1, Value(v), Value(int64_t{1}), Value(std::string(64, 'r'))).doc, 1);
    const size_t heap = s.memory_bytes() - spec.state_bytes();
    const bool keeps = it.key() == "min" || it.key() == "max" || it.key() == "first" || it.key() == "last" ||
                       it.key().rfind("push", 0) == 0 || it.key().rfind("set", 0) == 0 ||
                       it.key() == "top" || it.key() == "bottom";
    if (keeps) {
      EXPECT_GE(heap, v.size() + sizeof(Value)) << it.key();
      EXPECT_LT(heap, 1024u) << it.key();
    } else {
      EXPECT_EQ(heap, 0u) << it.key();  // counters, and sketches that saw no number
    }
  }
  GroupSpec sketch = group_one(kEveryKind["median"]);
  GroupState s = sketch.new_state();
  s.add(reading(1, Value(2.5)).doc, 1);
  const size_t one = s.memory_bytes() - sketch.state_bytes();
  EXPECT_GE(one, sizeof(DDSketch) + sizeof(uint32_t));
  for (int i = 0; i < 1000; ++i) s.add(reading(i, Value(1.0 + i)).doc, i);
  EXPECT_GT(s.memory_bytes() - sketch.state_bytes(), one + 300 * sizeof(uint32_t));  // ~350 bins
}

TEST(GroupState, CloneIsIndependentOfTheOriginal) {
  GroupSpec spec = group_of(kEveryKind);
  std::optional<GroupState> original(spec.new_state());
  for (int i = 0; i < 20; ++i) {
    original->add(reading(i, Value(std::string(30, static_cast<char>('a' + i))), Value(int64_t{i % 3}),
                          Value(int64_t{i}))
                      .doc,
                  i);
  }
  GroupState copy = original->clone();
  std::vector<std::string> before;
  for (size_t i = 0; i < spec.accumulators().size(); ++i) before.push_back(text(copy.result(i)));
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(text(original->result(i)), before[i]);
  // The copy's vectors are sized to fit; the original's have grown with slack.
  EXPECT_LE(copy.memory_bytes(), original->memory_bytes());
  EXPECT_GT(copy.memory_bytes(), spec.state_bytes() + 20 * 30);

  // Changing the original leaves the copy alone, and the other way round.
  original->add(reading(-5, Value(int64_t{-1}), Value(), Value()).doc, -5);
  original->add(reading(100, Value(int64_t{1000}), Value(int64_t{9}), Value()).doc, 100);
  for (size_t i = 0; i < before.size(); ++i) {
    const std::string& name = spec.accumulators()[i].output();
    EXPECT_EQ(text(copy.result(i)), before[i]) << name;
    // Every result of the original moved but $max (strings sort above numbers).
    if (name != "max") {
      EXPECT_NE(text(original->result(i)), before[i]) << name;
    }
  }
  const std::string original_push = text(original->result(11));
  copy.add(reading(-10, Value("zz")).doc, -10);
  EXPECT_EQ(text(original->result(11)), original_push);
  // The copy outlives the original.
  original.reset();
  EXPECT_EQ(text(copy.result(0)), "21");
  EXPECT_EQ(copy.result(11).at(0).as_string(), "zz");
}

TEST(GroupState, ValidityAndInvalidMerges) {
  GroupSpec spec = group_one({{"$count", json::object()}});
  GroupState none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.memory_bytes(), 0u);
  EXPECT_FALSE(none.clone().valid());
  GroupState s = spec.new_state();
  EXPECT_TRUE(s.valid());
  s.add(Value::object(), 1);
  s.merge(none);  // nothing
  EXPECT_EQ(s.result(0).as_int(), 1);
  s.merge(s);
  EXPECT_EQ(s.result(0).as_int(), 2);
  GroupState moved = std::move(s);
  EXPECT_FALSE(s.valid());  // NOLINT(bugprone-use-after-move): moved-from is invalid
  EXPECT_TRUE(moved.valid());
}

// ---------------------------------------------------------------------------------------
// Config errors name the JSON path

TEST(Accumulator, ConfigErrorsNameThePath) {
  const json approx = "approximate";
  const std::pair<json, std::string> bad[] = {
      {{{"$percentile", {{"input", "$v"}, {"p", {0.5, 2}}, {"method", approx}}}}, "/g/p/$percentile/p/1"},
      {{{"$percentile", {{"input", "$v"}, {"p", {0.5, "x"}}, {"method", approx}}}}, "/g/p/$percentile/p/1"},
      {{{"$percentile", {{"input", "$v"}, {"p", {-0.1}}, {"method", approx}}}}, "/g/p/$percentile/p/0"},
      {{{"$percentile", {{"input", "$v"}, {"p", json::array()}, {"method", approx}}}}, "/g/p/$percentile/p"},
      {{{"$percentile", {{"input", "$v"}, {"p", 0.5}, {"method", approx}}}}, "/g/p/$percentile/p"},
      {{{"$percentile", {{"input", "$v"}, {"method", approx}}}}, "/g/p/$percentile/p"},
      {{{"$percentile", {{"input", "$v"}, {"p", {0.5}}, {"method", approx}, {"x", 1}}}}, "/g/p/$percentile/x"},
      {{{"$percentile", {{"input", "$v"}, {"p", {0.5}}, {"method", "exact"}}}}, "/g/p/$percentile/method"},
      {{{"$percentile", "$v"}}, "/g/p/$percentile"},
      {{{"$median", {{"input", "$v"}}}}, "/g/p/$median/method"},
      {{{"$median", {{"method", approx}}}}, "/g/p/$median/input"},
      {{{"$median", {{"input", "$v"}, {"p", {0.5}}, {"method", approx}}}}, "/g/p/$median/p"},
      {{{"$median", {{"input", {{"$nope", 1}}}, {"method", approx}}}}, "/g/p/$median/input"},
      {{{"$push", {{"input", "$v"}, {"limit", 0}}}}, "/g/p/$push/limit"},
      {{{"$push", {{"input", "$v"}, {"limit", 2.5}}}}, "/g/p/$push/limit"},
      {{{"$push", {{"input", "$v"}, {"limit", "3"}}}}, "/g/p/$push/limit"},
      {{{"$push", {{"input", "$v"}, {"limit", -3}}}}, "/g/p/$push/limit"},
      {{{"$push", {{"limit", 3}}}}, "/g/p/$push/input"},
      {{{"$addToSet", {{"input", "$v"}, {"limit", 5}, {"sort", 1}}}}, "/g/p/$addToSet/sort"},
      {{{"$addToSet", {{"input", "$v"}, {"limit", 10000001}}}}, "/g/p/$addToSet/limit"},
      {{{"$top", {{"sortBy", {{"f", 2}}}, {"output", "$v"}}}}, "/g/p/$top/sortBy/f"},
      {{{"$top", {{"sortBy", {{"f", 1}, {"g", "desc"}}}, {"output", "$v"}}}}, "/g/p/$top/sortBy/g"},
      {{{"$top", {{"sortBy", json::object()}, {"output", "$v"}}}}, "/g/p/$top/sortBy"},
      {{{"$top", {{"sortBy", "f"}, {"output", "$v"}}}}, "/g/p/$top/sortBy"},
      {{{"$bottom", {{"sortBy", {{"f", 1}}}}}}, "/g/p/$bottom/output"},
      {{{"$bottom", {{"output", "$v"}}}}, "/g/p/$bottom/sortBy"},
      {{{"$bottom", {{"sortBy", {{"f", 1}}}, {"output", "$v"}, {"n", 3}}}}, "/g/p/$bottom/n"},
      {{{"$bottom", {{"sortBy", {{"$f", 1}}}, {"output", "$v"}}}}, "/g/p/$bottom/sortBy/$f"},
      {{{"$bottom", "$v"}}, "/g/p/$bottom"},
      {{{"$pushN", "$v"}}, "/g/p/$pushN"},
  };
  for (const auto& [acc, path] : bad) {
    try {
      group_of(json{{"p", acc}});
      ADD_FAILURE() << "accepted " << acc.dump();
    } catch (const config::ConfigError& e) {
      EXPECT_EQ(e.path(), path) << acc.dump() << ": " << e.what();
      EXPECT_FALSE(e.message().empty());
    }
  }
  // The good shapes compile.
  EXPECT_NO_THROW(group_of(json{{"p", {{"$push", {{"input", "$v"}, {"limit", 1000000}}}}}}));
  EXPECT_NO_THROW(group_of(json{{"p", {{"$percentile", {{"input", "$v"}, {"p", {0, 1}}, {"method", approx}}}}}}));
}

TEST(Accumulator, ConfigErrorMessagesSayWhatWasExpected) {
  try {
    group_of(json{{"p", {{"$percentile", {{"input", "$v"}, {"p", {0.5, 2}}, {"method", "approximate"}}}}}});
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("from 0 to 1"), std::string::npos) << e.what();
  }
  try {
    group_of(json{{"p", {{"$percentile", {{"input", "$v"}, {"q", {0.5}}, {"method", "approximate"}}}}}});
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option \"q\""), std::string::npos) << e.what();
  }
  try {
    group_of(json{{"p", {{"$push", {{"input", "$v"}, {"limit", 0}}}}}});
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("positive integer"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// Checkpoints: a state saved, written as JSON text, parsed back and loaded goes on exactly
// as the original.

// Through the store's JSON text (which reads 3.0 back as 3 and sorts object members).
Value through_json(const Value& v) { return config::to_value(nlohmann::json::parse(v.to_json())); }

TEST(Accumulator, SavedStatesContinueExactly) {
  const json all = {{"n", {{"$count", json::object()}}},
                    {"s", {{"$sum", "$v"}}},
                    {"a", {{"$avg", "$v"}}},
                    {"lo", {{"$min", "$v"}}},
                    {"hi", {{"$max", "$v"}}},
                    {"f", {{"$first", "$v"}}},
                    {"l", {{"$last", "$v"}}},
                    {"sp", {{"$stdDevPop", "$v"}}},
                    {"ss", {{"$stdDevSamp", "$v"}}},
                    {"md", {{"$median", {{"input", "$v"}, {"method", "approximate"}}}}},
                    {"pc", {{"$percentile", {{"input", "$v"}, {"p", {0.1, 0.9}}, {"method", "approximate"}}}}},
                    {"pu", {{"$push", {{"input", "$v"}, {"limit", 5}}}}},
                    {"st", {{"$addToSet", {{"input", "$v"}, {"limit", 4}}}}},
                    {"tp", {{"$top", {{"sortBy", {{"f", -1}, {"g", 1}}}, {"output", "$v"}}}}},
                    {"bt", {{"$bottom", {{"sortBy", {{"f", 1}}}, {"output", "$g"}}}}}};
  GroupSpec spec = group_of(all);
  std::mt19937_64 rng(5);
  auto value = [&]() -> Value {
    switch (rng() % 9) {
      case 0: return Value(static_cast<int64_t>(rng() % 100) - 50);
      case 1: return Value(static_cast<double>(rng() % 1000) / 8);
      case 2: return Value(static_cast<double>(rng() % 7));  // integral doubles stay doubles
      case 3: return Value(std::pow(10.0, static_cast<double>(rng() % 600) - 300));  // sketch collapses
      case 4: return Value(rng() % 2 == 0 ? std::numeric_limits<double>::infinity() : -0.0);
      case 5: return Value(rng() % 2 == 0 ? "x" : "\xff");
      case 6: {
        Value doc = Value::object();
        doc.set("z", Value(1.0));
        doc.set("a", Value());
        return doc;
      }
      case 7: return Value();
      default: return Value(1e308);  // sums overflow
    }
  };
  auto exact = [&](const GroupState& st) {
    std::string out;
    for (size_t i = 0; i < spec.accumulators().size(); ++i) out += save_value(st.result(i)).to_json() + " ";
    return out;
  };
  for (int round = 0; round < 40; ++round) {
    GroupState a = spec.new_state();
    std::vector<Reading> more;
    for (int i = 0; i < 60; ++i) {
      Reading r = reading(static_cast<TimeMs>(rng() % 100), value(), Value(static_cast<int64_t>(rng() % 3)),
                          Value(static_cast<int64_t>(rng() % 5)));
      if (i < 30 + round) {
        a.add(r.doc, r.t);
      } else {
        more.push_back(std::move(r));
      }
    }
    GroupState b = spec.new_state();
    ASSERT_TRUE(b.load(through_json(a.save())));
    EXPECT_EQ(b.save().to_json(), a.save().to_json());
    EXPECT_EQ(exact(b), exact(a));
    GroupState other = spec.new_state();
    for (const auto& r : more) {
      a.add(r.doc, r.t);
      b.add(r.doc, r.t);
      other.add(r.doc, r.t + 50);
    }
    EXPECT_EQ(exact(b), exact(a)) << round;
    a.merge(other);
    b.merge(other);
    EXPECT_EQ(exact(b), exact(a)) << round;
    EXPECT_EQ(b.save().to_json(), a.save().to_json());
  }
  // An empty state, and an invalid one.
  GroupState empty = spec.new_state();
  GroupState back = spec.new_state();
  EXPECT_TRUE(back.load(through_json(empty.save())));
  EXPECT_EQ(exact(back), exact(empty));
  EXPECT_TRUE(GroupState().save().is_null());
}

TEST(Accumulator, LoadRefusesStatesThatDoNotFit) {
  GroupSpec count = group_one({{"$count", json::object()}});
  GroupSpec sum = group_one({{"$sum", "$v"}});
  GroupSpec push = group_one({{"$push", {{"input", "$v"}, {"limit", 3}}}});
  GroupSpec small = group_one({{"$push", {{"input", "$v"}, {"limit", 2}}}});
  GroupSpec set = group_one({{"$addToSet", "$v"}});
  GroupSpec top = group_one({{"$top", {{"sortBy", {{"f", 1}}}, {"output", "$v"}}}});
  GroupSpec median = group_one({{"$median", {{"input", "$v"}, {"method", "approximate"}}}});
  GroupState c = count.new_state();
  c.add(reading(1, Value(1)).doc, 1);
  GroupState p = push.new_state();
  for (TimeMs t : {1, 2, 3}) p.add(reading(t, Value(t)).doc, t);
  auto load = [](const GroupSpec& spec, const Value& saved) {
    GroupState st = spec.new_state();
    return st.load(saved);
  };
  auto parse = [](const char* text) { return config::to_value(nlohmann::json::parse(text)); };
  EXPECT_FALSE(load(sum, c.save()));      // another kind's
  EXPECT_FALSE(load(small, p.save()));    // more than the limit
  EXPECT_TRUE(load(push, p.save()));
  EXPECT_FALSE(load(count, parse("[-1]")));
  EXPECT_FALSE(load(count, parse("[1, 2]")));
  EXPECT_FALSE(load(count, parse("[\"1\"]")));
  EXPECT_FALSE(load(push, parse("[[3, 1, 2, 2]]")));  // times out of order
  EXPECT_FALSE(load(set, parse("[[1, 2, 1, 1]]")));   // values out of order
  EXPECT_FALSE(load(set, parse("[[1, 2, 1, 2]]")));   // twice the same value
  EXPECT_TRUE(load(set, parse("[[1, 1, 0, 2]]")));
  EXPECT_FALSE(load(top, parse("[[1, [], 5]]")));     // sort keys of another sortBy
  EXPECT_TRUE(load(top, parse("[[1, [3], 5]]")));
  EXPECT_FALSE(load(median, parse("[[0, [0, false, [1]], [0, false, [-1]]]]")));
  EXPECT_FALSE(load(median, parse("[[0, [99999999, false, [1]], [0, false, []]]]")));
  EXPECT_TRUE(load(median, parse("[[2, [10, true, [1, 0, 4]], [0, false, []]]]")));
  EXPECT_FALSE(load(sum, parse("[[1, 0, \"x\", 0, true]]")));
  EXPECT_FALSE(load(sum, parse("{}")));
}

}  // namespace
}  // namespace weir::pipeline
