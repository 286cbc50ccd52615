// $tumblingWindow driven by explicit event times and a manual processing clock.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/session_window.hpp"
#include "pipeline/window/time_window.hpp"
#include "pipeline/window/tumbling_window.hpp"

namespace weir::pipeline {
namespace {

using json = config::Json;

class Capture final : public StageContext {
 public:
  void forward(Record&& r) override { out.push_back(std::move(r)); }
  void reject(std::string_view reason, std::string_view detail) override {
    rejected.emplace_back(reason, detail);
  }
  TimeMs now() const override { return clock; }
  bool congested() const override { return congested_after >= 0 && out.size() >= static_cast<size_t>(congested_after); }
  std::vector<Record> out;
  int congested_after = -1;  // >= 0: the output is congested once this many records came out
  std::vector<std::pair<std::string, std::string>> rejected;
  TimeMs clock = 0;
};

std::unique_ptr<Operator> make(const json& spec) {
  return make_tumbling_window(config::Node(spec, "/w"), StageBuildContext{"p", 1, "", {}});
}

json spec(int size_ms, int lateness_ms, int idle_ms, json group) {
  json s = {{"interval", {{"size", size_ms}, {"unit", "ms"}}},
            {"allowedLateness", {{"size", lateness_ms}, {"unit", "ms"}}},
            {"pipeline", json::array({{{"$group", group}}})}};
  if (idle_ms > 0) s["idleTimeout"] = {{"size", idle_ms}, {"unit", "ms"}};
  return s;
}

Record reading(const char* device, TimeMs t, Value v) {
  Record r;
  r.doc = Value::object();
  r.doc.set("device", device);
  r.doc.set("v", std::move(v));
  r.event_time = t;
  return r;
}

StageResult push(Operator& op, Capture& ctx, const char* device, TimeMs t, Value v) {
  Record r = reading(device, t, std::move(v));
  return op.process(r, ctx);
}

const json kAll = {{"_id", "$device"}, {"n", {{"$count", json::object()}}}, {"sum", {{"$sum", "$v"}}},
                   {"avg", {{"$avg", "$v"}}}, {"min", {{"$min", "$v"}}}, {"max", {{"$max", "$v"}}},
                   {"first", {{"$first", "$v"}}}, {"last", {{"$last", "$v"}}}};

TEST(TumblingWindow, ClosesWhenWatermarkPassesEnd) {
  auto op = make(spec(1000, 200, 0, kAll));
  Capture ctx;
  EXPECT_EQ(push(*op, ctx, "a", 100, Value(int64_t{3})), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "a", 900, Value(int64_t{5})), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "b", 950, Value(2.5)), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "a", 1150, Value(int64_t{1})), StageResult::kConsumed);  // watermark 950
  EXPECT_TRUE(ctx.out.empty());
  EXPECT_EQ(push(*op, ctx, "a", 1199, Value(int64_t{1})), StageResult::kConsumed);  // watermark 999
  EXPECT_TRUE(ctx.out.empty());
  EXPECT_EQ(push(*op, ctx, "a", 1200, Value(int64_t{1})), StageResult::kConsumed);  // watermark 1000
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(ctx.out[0].doc.to_json(),
            R"({"_id":"a","n":2,"sum":8,"avg":4,"min":3,"max":5,"first":3,"last":5,)"
            R"("_stream_meta":{"window":{"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:01.000Z"},)"
            R"("outputId":"010d16456e33ad89"}})");
  EXPECT_EQ(ctx.out[1].doc.to_json(),
            R"({"_id":"b","n":1,"sum":2.5,"avg":2.5,"min":2.5,"max":2.5,"first":2.5,"last":2.5,)"
            R"("_stream_meta":{"window":{"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:01.000Z"},)"
            R"("outputId":"af484f93bd27d4bc"}})");
  EXPECT_EQ(ctx.out[0].event_time, 999);
}

TEST(TumblingWindow, LateReadingsAreRejectedAndWatermarkNeverMovesBack) {
  auto op = make(spec(1000, 0, 0, kAll));
  Capture ctx;
  push(*op, ctx, "a", 2500, Value(int64_t{1}));  // closes nothing yet: no window before it
  EXPECT_EQ(push(*op, ctx, "a", 1999, Value(int64_t{1})), StageResult::kDeadLetter);
  ASSERT_EQ(ctx.rejected.size(), 1u);
  EXPECT_EQ(ctx.rejected[0].first, "late");
  EXPECT_NE(ctx.rejected[0].second.find("1970-01-01T00:00:01.999Z"), std::string::npos);
  // Out of order but within the open window: accepted.
  EXPECT_EQ(push(*op, ctx, "a", 2000, Value(int64_t{7})), StageResult::kConsumed);
  // An older reading does not move the watermark back: 2999 still closes nothing...
  EXPECT_EQ(push(*op, ctx, "a", 2100, Value(int64_t{1})), StageResult::kConsumed);
  EXPECT_TRUE(ctx.out.empty());
  push(*op, ctx, "a", 3000, Value(int64_t{1}));
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(ctx.out[0].doc.find("n")->as_int(), 3);
  EXPECT_EQ(ctx.out[0].doc.find("first")->as_int(), 7);  // earliest event time, not arrival
}

TEST(TumblingWindow, IdleTimeoutClosesOnProcessingTime) {
  auto op = make(spec(10000, 2000, 5000, kAll));
  Capture ctx;
  ctx.clock = 1000000;
  push(*op, ctx, "a", 5000, Value(int64_t{1}));
  ctx.clock += 4999;
  op->on_tick(ctx);
  EXPECT_TRUE(ctx.out.empty());
  ctx.clock += 1;
  op->on_tick(ctx);
  ASSERT_EQ(ctx.out.size(), 1u);
  // The window is closed now: a reading for it is late even though the watermark was low.
  EXPECT_EQ(push(*op, ctx, "a", 9000, Value(int64_t{1})), StageResult::kDeadLetter);
  EXPECT_EQ(push(*op, ctx, "a", 10000, Value(int64_t{1})), StageResult::kConsumed);
}

TEST(TumblingWindow, FlushEmitsEveryOpenWindowInOrder) {
  auto op = make(spec(1000, 100000, 0, kAll));
  Capture ctx;
  push(*op, ctx, "b", 2500, Value(int64_t{1}));
  push(*op, ctx, "a", 500, Value(int64_t{1}));
  push(*op, ctx, "c", 2600, Value(int64_t{1}));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 3u);
  EXPECT_EQ(ctx.out[0].doc.find("_id")->as_string(), "a");
  EXPECT_EQ(ctx.out[1].doc.find("_id")->as_string(), "b");
  EXPECT_EQ(ctx.out[2].doc.find("_id")->as_string(), "c");
}

TEST(TumblingWindow, NegativeTimesAndOffsetAlignWindows) {
  json s = spec(1000, 0, 0, kAll);
  s["offset"] = {{"size", 250}, {"unit", "ms"}};
  auto op = make(s);
  auto* w = dynamic_cast<TimeWindow*>(op.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->window_start(250), 250);
  EXPECT_EQ(w->window_start(249), -750);
  EXPECT_EQ(w->window_start(-1), -750);
  EXPECT_EQ(w->window_start(1249), 250);
}

TEST(Accumulators, MongoSemanticsForTypes) {
  auto op = make(spec(1000, 0, 0, kAll));
  Capture ctx;
  push(*op, ctx, "a", 1, Value(int64_t{INT64_MAX}));
  push(*op, ctx, "a", 2, Value(int64_t{1}));  // overflows int64: the sum becomes a double
  push(*op, ctx, "a", 3, Value("text"));      // ignored by $sum/$avg; strings sort above numbers
  push(*op, ctx, "a", 4, Value());            // null: ignored by $min/$max
  push(*op, ctx, "b", 5, Value());
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 2u);
  const Value& a = ctx.out[0].doc;
  EXPECT_EQ(a.find("n")->as_int(), 4);
  EXPECT_TRUE(a.find("sum")->is_double());
  EXPECT_DOUBLE_EQ(a.find("sum")->as_double(), 9223372036854775808.0);
  EXPECT_DOUBLE_EQ(a.find("avg")->as_double(), 9223372036854775808.0 / 2);
  EXPECT_EQ(a.find("min")->as_int(), 1);
  EXPECT_EQ(a.find("max")->as_string(), "text");
  EXPECT_TRUE(a.find("last")->is_null());
  const Value& b = ctx.out[1].doc;
  EXPECT_EQ(b.find("sum")->to_json(), "0");
  EXPECT_TRUE(b.find("avg")->is_null());
  EXPECT_TRUE(b.find("min")->is_null());
}

TEST(Accumulators, HeldValuesOfEveryType) {
  const json group = {{"_id", "$device"}, {"min", {{"$min", "$v"}}}, {"max", {{"$max", "$v"}}},
                      {"first", {{"$first", "$v"}}}, {"last", {{"$last", "$v"}}}};
  auto op = make(spec(1000, 0, 0, group));
  Capture ctx;
  Value doc = Value::object();
  doc.set("k", "deep");
  // Strings and documents live on the heap, numbers and booleans inline; each replaces
  // the other in the same state.
  push(*op, ctx, "a", 10, Value("m"));
  push(*op, ctx, "a", 5, Value(int64_t{7}));   // earliest: becomes $first
  push(*op, ctx, "a", 20, Value(true));        // booleans sort above documents: $max
  push(*op, ctx, "a", 30, Value(2.5));         // smallest: $min
  push(*op, ctx, "a", 40, doc);                // latest: $last
  push(*op, ctx, "b", 1, Value("only"));
  push(*op, ctx, "b", 2, Value("zz"));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(ctx.out[1].doc.find("max")->as_string(), "zz");
  EXPECT_EQ(ctx.out[1].doc.find("first")->as_string(), "only");
  const Value& a = ctx.out[0].doc;
  EXPECT_EQ(a.find("min")->to_json(), "2.5");
  EXPECT_EQ(a.find("max")->to_json(), "true");
  EXPECT_EQ(a.find("first")->to_json(), "7");
  EXPECT_EQ(a.find("last")->to_json(), R"({"k":"deep"})");
  const Value& b = ctx.out[1].doc;
  EXPECT_EQ(b.find("min")->as_string(), "only");
  EXPECT_EQ(b.find("max")->as_string(), "zz");
  EXPECT_EQ(b.find("last")->as_string(), "zz");
}

TEST(Accumulators, StandardDeviationsPopulationAndSample) {
  const json group = {{"_id", "$device"}, {"pop", {{"$stdDevPop", "$v"}}}, {"samp", {{"$stdDevSamp", "$v"}}}};
  auto op = make(spec(1000, 0, 0, group));
  Capture ctx;
  // a: the textbook example, mean 5, population deviation exactly 2.
  for (int64_t x : {2, 4, 4, 4, 5, 5, 7, 9}) push(*op, ctx, "a", 1, Value(x));
  // b: one value; c: nothing numeric; d: a large offset where sum-of-squares cancels.
  push(*op, ctx, "b", 1, Value(3.5));
  push(*op, ctx, "c", 1, Value("x"));
  push(*op, ctx, "c", 2, Value());
  for (double x : {4.0, 7.0, 13.0, 16.0}) push(*op, ctx, "d", 1, Value(1e9 + x));
  push(*op, ctx, "d", 2, Value("ignored"));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 4u);
  const Value& a = ctx.out[0].doc;
  EXPECT_DOUBLE_EQ(a.find("pop")->as_double(), 2.0);
  EXPECT_DOUBLE_EQ(a.find("samp")->as_double(), std::sqrt(32.0 / 7.0));
  const Value& b = ctx.out[1].doc;
  EXPECT_TRUE(b.find("pop")->is_double());
  EXPECT_EQ(b.find("pop")->as_double(), 0.0);
  EXPECT_TRUE(b.find("samp")->is_null());  // a sample of one has no deviation
  const Value& c = ctx.out[2].doc;
  EXPECT_TRUE(c.find("pop")->is_null());
  EXPECT_TRUE(c.find("samp")->is_null());
  const Value& d = ctx.out[3].doc;
  EXPECT_NEAR(d.find("pop")->as_double(), std::sqrt(22.5), 1e-6);  // deviations 6, 3, 3, 6
  EXPECT_NEAR(d.find("samp")->as_double(), std::sqrt(30.0), 1e-6);
}

TEST(Accumulators, CompensatedSumStaysExact) {
  auto op = make(spec(1000000, 0, 0, {{"_id", nullptr}, {"sum", {{"$sum", "$v"}}}}));
  Capture ctx;
  push(*op, ctx, "a", 0, Value(1e16));
  for (int i = 0; i < 1000; ++i) push(*op, ctx, "a", i, Value(1.0));
  push(*op, ctx, "a", 1000, Value(-1e16));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(ctx.out[0].doc.find("sum")->as_double(), 1000.0);
  EXPECT_TRUE(ctx.out[0].doc.find("_id")->is_null());
}

TEST(TumblingWindow, CompoundIdGroupsByDocument) {
  auto op = make(spec(1000, 0, 0, {{"_id", {{"d", "$device"}, {"hi", {{"$gt", json::array({"$v", 10})}}}}}, {"n", {{"$count", json::object()}}}}));
  Capture ctx;
  push(*op, ctx, "a", 1, Value(int64_t{5}));
  push(*op, ctx, "a", 2, Value(int64_t{50}));
  push(*op, ctx, "a", 3, Value(int64_t{6}));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(ctx.out[0].doc.find("_id")->to_json(), R"({"d":"a","hi":false})");
  EXPECT_EQ(ctx.out[0].doc.find("n")->as_int(), 2);
  EXPECT_EQ(ctx.out[1].doc.find("_id")->to_json(), R"({"d":"a","hi":true})");
}

TEST(TumblingWindow, InvalidConfigsNameThePath) {
  const std::pair<json, std::string> bad[] = {
      {{{"pipeline", json::array({{{"$group", {{"_id", "$d"}}}}})}}, "/w/interval"},
      {{{"interval", {{"size", 1}, {"unit", "second"}}}, {"pipeline", json::array()}}, "/w/pipeline"},
      {{{"interval", {{"size", 1}, {"unit", "second"}}}, {"pipeline", json::array({{{"$match", json::object()}}})}}, "/w/pipeline/0"},
      {{{"interval", {{"size", 1}, {"unit", "second"}}}, {"pipeline", json::array({{{"$group", {{"n", {{"$count", json::object()}}}}}}})}}, "/w/pipeline/0/$group/_id"},
      {{{"interval", {{"size", 1}, {"unit", "second"}}}, {"pipeline", json::array({{{"$group", {{"_id", 1}, {"x", {{"$median", "$v"}}}}}}})}}, "/w/pipeline/0/$group/x/$median"},
      {{{"interval", {{"size", 1}, {"unit", "second"}}}, {"offset", {{"size", 1}, {"unit", "second"}}}, {"pipeline", json::array({{{"$group", {{"_id", 1}}}}})}}, "/w/offset"},
  };
  for (const auto& [s, path] : bad) {
    try {
      make(s);
      ADD_FAILURE() << "accepted " << s.dump();
    } catch (const config::ConfigError& e) {
      EXPECT_EQ(e.path(), path) << e.what();
    }
  }
}

// While the output is congested a closed window's groups wait as state and come out, still
// in _id order and none twice, on later ticks; the closed window stays closed meanwhile.
TEST(TumblingWindow, ClosedWindowWaitsWhileOutputIsCongested) {
  auto op = make(spec(1000, 0, 0, kAll));
  Capture ctx;
  for (const char* d : {"e", "b", "d", "a", "c"}) push(*op, ctx, d, 500, Value(int64_t{1}));
  push(*op, ctx, "a", 1500, Value(int64_t{2}));  // closes [0, 1000) with 5 groups
  ASSERT_EQ(ctx.out.size(), 5u);  // never congested: all at once
  ctx.out.clear();

  for (const char* d : {"e", "b", "d", "a", "c"}) push(*op, ctx, d, 1600, Value(int64_t{1}));
  ctx.congested_after = 2;  // the sink takes two, then backs up
  push(*op, ctx, "a", 2000, Value(int64_t{3}));  // closes [1000, 2000)
  ASSERT_EQ(ctx.out.size(), 2u);
  const auto* w = dynamic_cast<TimeWindow*>(op.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->pending_outputs(), 3u);
  // A reading for the window being emitted is late, as for any closed window.
  EXPECT_EQ(push(*op, ctx, "z", 1700, Value(int64_t{1})), StageResult::kDeadLetter);
  op->on_tick(ctx);  // still congested: nothing more
  EXPECT_EQ(ctx.out.size(), 2u);
  ctx.congested_after = -1;
  op->on_tick(ctx);
  ASSERT_EQ(ctx.out.size(), 5u);
  EXPECT_EQ(w->pending_outputs(), 0u);
  std::string ids;
  for (const auto& r : ctx.out) ids += r.doc.find("_id")->as_string();
  EXPECT_EQ(ids, "abcde");
  // a: 1500 and 1600 (2000 opened the next window); the others: 1600.
  for (const auto& r : ctx.out) EXPECT_EQ(r.doc.find("n")->as_int(), r.doc.find("_id")->as_string() == "a" ? 2 : 1);
}

}  // namespace
}  // namespace weir::pipeline

namespace weir::pipeline {
namespace {

TEST(TumblingWindow, ReadingsWithoutTheGroupFieldAreDeadLettered) {
  auto op = make(spec(1000, 0, 0, {{"_id", "$device"}, {"n", {{"$count", json::object()}}}}));
  Capture ctx;
  Record r;
  r.doc = Value::object();
  r.doc.set("v", 1);
  r.event_time = 10;
  EXPECT_EQ(op->process(r, ctx), StageResult::kDeadLetter);
  ASSERT_EQ(ctx.rejected.size(), 1u);
  EXPECT_EQ(ctx.rejected[0].first, "missing_group");
  EXPECT_NE(ctx.rejected[0].second.find("\"device\""), std::string::npos);
  // A stored null is a value: it forms the null group.
  r.doc.set("device", Value());
  EXPECT_EQ(op->process(r, ctx), StageResult::kConsumed);

  auto compound = make(spec(1000, 0, 0, {{"_id", {{"d", "$device"}, {"s", "$site"}}}, {"n", {{"$count", json::object()}}}}));
  Record c = reading("a", 10, Value(1));
  EXPECT_EQ(compound->process(c, ctx), StageResult::kDeadLetter);
  EXPECT_NE(ctx.rejected.back().second.find("_id.s"), std::string::npos) << ctx.rejected.back().second;
  c.doc.set("site", "north");
  EXPECT_EQ(compound->process(c, ctx), StageResult::kConsumed);
  // A grouping by an expression or a constant has nothing that can be missing.
  auto constant = make(spec(1000, 0, 0, {{"_id", nullptr}, {"n", {{"$count", json::object()}}}}));
  Record k = reading("a", 10, Value(1));
  EXPECT_EQ(constant->process(k, ctx), StageResult::kConsumed);
}

// ---- hopping windows -------------------------------------------------------------------

std::unique_ptr<Operator> make_stage(std::unique_ptr<Operator> (*factory)(const config::Node&, const StageBuildContext&),
                                     const json& spec) {
  return factory(config::Node(spec, "/w"), StageBuildContext{"p", 1, "", {}});
}

json ms(int64_t n) { return {{"size", n}, {"unit", "ms"}}; }

const json kCountSum = {{"_id", "$device"}, {"n", {{"$count", json::object()}}}, {"sum", {{"$sum", "$v"}}},
                        {"min", {{"$min", "$v"}}}, {"max", {{"$max", "$v"}}}, {"first", {{"$first", "$v"}}}};

std::string bounds(const Record& r) {
  const Value* w = r.doc.find("_stream_meta")->find("window");
  std::string s = w->find("start")->as_string().substr(17, 6) + "-" + w->find("end")->as_string().substr(17, 6);
  if (const Value* rev = w->find("revision")) s += "#" + std::to_string(rev->as_int());
  return s;
}

TEST(HoppingWindow, EveryWindowHoldingAReadingFiresOnce) {
  json s = {{"interval", ms(10000)}, {"hopSize", ms(4000)}, {"pipeline", json::array({{{"$group", kCountSum}}})}};
  auto op = make_stage(make_hopping_window, s);
  Capture ctx;
  ctx.clock = 1000000;
  push(*op, ctx, "a", 5000, Value(int64_t{1}));   // windows starting -4 s, 0 s and 4 s
  EXPECT_TRUE(ctx.out.empty());
  push(*op, ctx, "a", 9000, Value(int64_t{2}));   // 0 s, 4 s, 8 s; watermark 9 s: [-4, 6) fires
  EXPECT_EQ(ctx.out.size(), 1u);
  push(*op, ctx, "a", 14000, Value(int64_t{4}));  // watermark 14 s: [0, 10), [4, 14) fire
  ASSERT_EQ(ctx.out.size(), 3u);
  EXPECT_EQ(bounds(ctx.out[0]), "56.000-06.000");  // [-4 s, 6 s) shown as seconds of the minute
  EXPECT_EQ(ctx.out[0].doc.find("sum")->as_int(), 1);
  EXPECT_EQ(ctx.out[1].doc.find("sum")->as_int(), 3);
  EXPECT_EQ(ctx.out[2].doc.find("sum")->as_int(), 3);
  op->flush(ctx);
  // [8, 18) holds 9 s and 14 s; [12, 22) holds 14 s.
  ASSERT_EQ(ctx.out.size(), 5u);
  EXPECT_EQ(bounds(ctx.out[3]), "08.000-18.000");
  EXPECT_EQ(ctx.out[3].doc.find("sum")->as_int(), 6);
  EXPECT_EQ(ctx.out[4].doc.find("sum")->as_int(), 4);
  auto* w = dynamic_cast<TimeWindow*>(op.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->pane_size(), 2000);
  EXPECT_EQ(w->groups(), 0u);
}

// The sliding aggregation (front stack of suffix merges, back merge) against recomputing
// every window from its readings, with readings out of order within the lateness.
TEST(HoppingWindow, SlidingAggregationMatchesRecomputation) {
  for (int variant = 0; variant < 4; ++variant) {
    const int lateness = variant % 2 == 0 ? 0 : 35;
    json s = {{"interval", ms(60)}, {"hopSize", ms(4)}, {"allowedLateness", ms(lateness)},
              {"pipeline", json::array({{{"$group", kCountSum}}})}};
    if (variant >= 2) s["late"] = "update";  // panes keep their own state beside the aggregates
    auto op = make_stage(make_hopping_window, s);
    Capture ctx;
    ctx.clock = 1000000;
    std::vector<std::tuple<std::string, TimeMs, int64_t>> accepted;
    uint64_t x = 12345;
    auto rnd = [&](uint64_t n) { x = x * 6364136223846793005ULL + 1442695040888963407ULL; return (x >> 33) % n; };
    TimeMs t = 0;
    for (int i = 0; i < 3000; ++i) {
      t += static_cast<TimeMs>(rnd(3));
      TimeMs et = t - static_cast<TimeMs>(lateness > 0 ? rnd(lateness) : 0);
      std::string dev(1, static_cast<char>('a' + rnd(3)));
      int64_t v = static_cast<int64_t>(rnd(1000)) - 500;
      if (push(*op, ctx, dev.c_str(), et, Value(v)) == StageResult::kConsumed) accepted.emplace_back(dev, et, v);
    }
    op->flush(ctx);
    ASSERT_GT(ctx.out.size(), 1000u);
    for (const auto& r : ctx.out) {
      TimeMs end = r.event_time + 1, start = end - 60;
      const std::string dev = r.doc.find("_id")->as_string();
      int64_t n = 0, sum = 0, mn = INT64_MAX, mx = INT64_MIN, first = 0;
      TimeMs first_t = kMaxTime;
      for (const auto& [d, et, v] : accepted) {
        if (d != dev || et < start || et >= end) continue;
        ++n, sum += v, mn = std::min(mn, v), mx = std::max(mx, v);
        if (et < first_t) first_t = et, first = v;
      }
      ASSERT_EQ(r.doc.find("n")->as_int(), n) << dev << " " << start;
      ASSERT_EQ(r.doc.find("sum")->as_int(), sum) << dev << " " << start;
      ASSERT_EQ(r.doc.find("min")->as_int(), mn);
      ASSERT_EQ(r.doc.find("max")->as_int(), mx);
      ASSERT_EQ(r.doc.find("first")->as_int(), first);
    }
  }
}

TEST(HoppingWindow, ConfigErrorsNameThePath) {
  json s = {{"interval", ms(1000)}, {"hopSize", ms(2000)}, {"pipeline", json::array({{{"$group", kCountSum}}})}};
  try {
    make_stage(make_hopping_window, s);
    FAIL() << "accepted a hop longer than the interval";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/w/hopSize"), std::string::npos) << e.what();
  }
  s["hopSize"] = ms(500);
  s["updateFor"] = ms(500);
  EXPECT_THROW(make_stage(make_hopping_window, s), config::ConfigError);  // only with late "update"
}

// ---- late data -------------------------------------------------------------------------

TEST(TumblingWindow, LateUpdateReEmitsWithTheNextRevision) {
  json s = spec(1000, 0, 0, kAll);
  s["late"] = "update";
  s["updateFor"] = ms(2000);
  auto op = make(s);
  Capture ctx;
  push(*op, ctx, "a", 100, Value(int64_t{1}));
  push(*op, ctx, "a", 1500, Value(int64_t{1}));  // fires [0, 1000)
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(bounds(ctx.out[0]), "00.000-01.000#0");
  EXPECT_EQ(push(*op, ctx, "a", 200, Value(int64_t{5})), StageResult::kConsumed);
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(bounds(ctx.out[1]), "00.000-01.000#1");
  EXPECT_EQ(ctx.out[1].doc.find("sum")->as_int(), 6);
  EXPECT_EQ(push(*op, ctx, "b", 300, Value(int64_t{7})), StageResult::kConsumed);  // a new group
  EXPECT_EQ(bounds(ctx.out[2]), "00.000-01.000#0");
  push(*op, ctx, "a", 3000, Value(int64_t{1}));  // watermark 3 s: [0, 1 s) is kept no longer
  EXPECT_EQ(push(*op, ctx, "a", 999, Value(int64_t{1})), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected.back().first, "late");
}

TEST(TumblingWindow, PerKeyWatermarkLetsASlowClockKeepItsWindows) {
  json s = spec(1000, 0, 0, kAll);
  s["watermark"] = "perKey";
  auto op = make(s);
  Capture ctx;
  push(*op, ctx, "fast", 50000, Value(int64_t{1}));
  EXPECT_EQ(push(*op, ctx, "slow", 100, Value(int64_t{1})), StageResult::kConsumed);  // not late
  EXPECT_EQ(push(*op, ctx, "slow", 900, Value(int64_t{2})), StageResult::kConsumed);
  EXPECT_TRUE(ctx.out.empty());
  push(*op, ctx, "slow", 1000, Value(int64_t{4}));  // only slow's [0, 1 s) fires
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(ctx.out[0].doc.find("_id")->as_string(), "slow");
  EXPECT_EQ(ctx.out[0].doc.find("sum")->as_int(), 3);
  EXPECT_EQ(push(*op, ctx, "slow", 999, Value(int64_t{1})), StageResult::kDeadLetter);
  EXPECT_EQ(push(*op, ctx, "fast", 999, Value(int64_t{1})), StageResult::kDeadLetter);
}

TEST(TumblingWindow, MaxGroupsCapsAWindowAndFutureReadingsAreRejected) {
  json s = spec(1000, 0, 0, {{"_id", "$device"}, {"n", {{"$count", json::object()}}}});
  s["maxGroups"] = 2;
  s["maxFutureSkew"] = ms(60000);
  auto op = make(s);
  Capture ctx;
  ctx.clock = 0;
  EXPECT_EQ(push(*op, ctx, "a", 10, Value(1)), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "b", 10, Value(1)), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "c", 10, Value(1)), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected.back().first, "maxGroups");
  EXPECT_EQ(push(*op, ctx, "a", 20, Value(1)), StageResult::kConsumed);  // an existing group
  EXPECT_EQ(push(*op, ctx, "c", 1010, Value(1)), StageResult::kConsumed);  // another window
  EXPECT_EQ(push(*op, ctx, "d", 60001, Value(1)), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected.back().first, "future");
  EXPECT_EQ(push(*op, ctx, "d", 60000, Value(1)), StageResult::kConsumed);
}

TEST(TumblingWindow, ProcessingTimeBoundaryUsesArrival) {
  json s = {{"interval", ms(1000)}, {"boundary", "processingTime"},
            {"pipeline", json::array({{{"$group", {{"_id", "$device"}, {"n", {{"$count", json::object()}}}}}}})}};
  auto op = make(s);
  Capture ctx;
  ctx.clock = 5100;
  push(*op, ctx, "a", 1, Value(1));  // event time ignored
  push(*op, ctx, "a", 999999999, Value(1));
  ctx.clock = 5999;
  op->on_tick(ctx);
  EXPECT_TRUE(ctx.out.empty());
  ctx.clock = 6000;
  op->on_tick(ctx);
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(ctx.out[0].doc.find("n")->as_int(), 2);
  EXPECT_EQ(bounds(ctx.out[0]), "05.000-06.000");
  json bad = s;
  bad["allowedLateness"] = ms(5);
  EXPECT_THROW(make(bad), config::ConfigError);
}

// ---- session windows -------------------------------------------------------------------

json session_spec(int64_t gap, int64_t lateness) {
  return {{"gap", ms(gap)}, {"partitionBy", "$device"}, {"allowedLateness", ms(lateness)},
          {"pipeline", json::array({{{"$group", kCountSum}}})}};
}

TEST(SessionWindow, ABridgingReadingMergesTwoSessions) {
  auto op = make_stage(make_session_window, session_spec(100, 500));
  Capture ctx;
  push(*op, ctx, "a", 1000, Value(int64_t{1}));
  push(*op, ctx, "a", 1050, Value(int64_t{2}));
  push(*op, ctx, "a", 1300, Value(int64_t{4}));  // a second session: 250 ms after 1050
  push(*op, ctx, "b", 1310, Value(int64_t{100}));
  push(*op, ctx, "a", 1170, Value(int64_t{8}));  // within 100 ms of neither: a third
  push(*op, ctx, "a", 1240, Value(int64_t{16}));  // bridges 1170 and 1300
  push(*op, ctx, "a", 1120, Value(int64_t{32}));  // bridges 1050 and 1170: one session
  EXPECT_TRUE(ctx.out.empty());
  push(*op, ctx, "a", 1900, Value(int64_t{64}));  // watermark 1400: a's session ends there
  ASSERT_EQ(ctx.out.size(), 1u);
  push(*op, ctx, "a", 1910, Value(int64_t{0}));   // watermark 1410: b's too
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(ctx.out[0].doc.find("n")->as_int(), 6);
  EXPECT_EQ(ctx.out[0].doc.find("sum")->as_int(), 63);
  EXPECT_EQ(ctx.out[0].doc.find("first")->as_int(), 1);
  EXPECT_EQ(bounds(ctx.out[0]), "01.000-01.400");
  EXPECT_EQ(ctx.out[1].doc.find("_id")->as_string(), "b");
  // Late: within gap of a fired session, or a session that would already have ended.
  EXPECT_EQ(push(*op, ctx, "a", 1350, Value(int64_t{1})), StageResult::kDeadLetter);
  EXPECT_EQ(push(*op, ctx, "c", 1200, Value(int64_t{1})), StageResult::kDeadLetter);
  EXPECT_EQ(push(*op, ctx, "c", 1350, Value(int64_t{1})), StageResult::kConsumed);  // ends 1450 > 1410
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 4u);
  EXPECT_EQ(ctx.out[2].doc.find("_id")->as_string(), "c");
  EXPECT_EQ(ctx.out[3].doc.find("sum")->as_int(), 64);
}

TEST(SessionWindow, MaxDurationCutsAtItsMultiples) {
  json s = session_spec(100, 0);
  s["maxDuration"] = ms(1000);
  auto op = make_stage(make_session_window, s);
  Capture ctx;
  for (TimeMs t = 900; t < 2300; t += 50) push(*op, ctx, "a", t, Value(int64_t{1}));
  op->flush(ctx);
  ASSERT_EQ(ctx.out.size(), 3u);
  EXPECT_EQ(ctx.out[0].doc.find("n")->as_int(), 2);   // 900, 950
  EXPECT_EQ(ctx.out[1].doc.find("n")->as_int(), 20);  // 1000 .. 1950
  EXPECT_EQ(ctx.out[2].doc.find("n")->as_int(), 6);   // 2000 .. 2250
  EXPECT_EQ(bounds(ctx.out[1]), "01.000-02.050");
}

TEST(SessionWindow, LateUpdateInsideAFiredSession) {
  json s = session_spec(100, 0);
  s["late"] = "update";
  s["updateFor"] = ms(1000);  // kept until the watermark reaches 2190
  auto op = make_stage(make_session_window, s);
  Capture ctx;
  push(*op, ctx, "a", 1000, Value(int64_t{1}));
  push(*op, ctx, "a", 1090, Value(int64_t{2}));
  push(*op, ctx, "a", 1500, Value(int64_t{4}));  // fires [1000, 1190)
  ASSERT_EQ(ctx.out.size(), 1u);
  EXPECT_EQ(push(*op, ctx, "a", 1050, Value(int64_t{8})), StageResult::kConsumed);
  ASSERT_EQ(ctx.out.size(), 2u);
  EXPECT_EQ(bounds(ctx.out[1]), "01.000-01.190#1");
  EXPECT_EQ(ctx.out[1].doc.find("sum")->as_int(), 11);
  // Outside the fired bounds (it would stretch them): late.
  EXPECT_EQ(push(*op, ctx, "a", 1120, Value(int64_t{1})), StageResult::kDeadLetter);
}

TEST(SessionWindow, MaxGroupsAndMissingPartition) {
  json s = session_spec(100, 0);
  s["maxGroups"] = 1;
  auto op = make_stage(make_session_window, s);
  Capture ctx;
  EXPECT_EQ(push(*op, ctx, "a", 1000, Value(1)), StageResult::kConsumed);
  EXPECT_EQ(push(*op, ctx, "b", 1000, Value(1)), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected.back().first, "maxGroups");
  Record r;
  r.doc = Value::object();
  r.event_time = 1000;
  EXPECT_EQ(op->process(r, ctx), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected.back().first, "missing_partition");
  push(*op, ctx, "a", 1200, Value(1));  // a's first session fires, its group is freed
  EXPECT_EQ(push(*op, ctx, "b", 1200, Value(1)), StageResult::kDeadLetter);  // a's second holds it
  auto* w = dynamic_cast<SessionWindow*>(op.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->groups(), 1u);
}

}  // namespace
}  // namespace weir::pipeline
