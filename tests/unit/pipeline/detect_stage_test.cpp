// $detect as a stage: _anomaly on readings, alerts raised and cleared, the retained state
// topic, the rate limit, the dead-man timer and config errors. Driven by explicit event
// times and a manual processing clock.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/detect/detect_stage.hpp"

namespace weir::pipeline::detect {
namespace {

using json = nlohmann::json;

class Capture final : public StageContext {
 public:
  void forward(Record&& r) override { (void)r; }
  void reject(std::string_view reason, std::string_view detail) override {
    rejected.emplace_back(reason);
    (void)detail;
  }
  TimeMs now() const override { return clock; }
  void publish(uint32_t connection, OutputMessage&& m) override {
    EXPECT_EQ(connection, 7u);
    published.push_back(std::move(m));
  }
  // Published messages on topics starting with prefix, as JSON.
  std::vector<json> on(std::string_view prefix) const {
    std::vector<json> out;
    for (const auto& m : published) {
      if (m.topic.rfind(prefix, 0) == 0) out.push_back(json::parse(m.payload));
    }
    return out;
  }
  std::vector<OutputMessage> published;
  std::vector<std::string> rejected;
  TimeMs clock = 0;
};

std::unique_ptr<Operator> make(const json& spec, const std::string& pipeline = "p") {
  StageBuildContext ctx{pipeline, 1, "out", {}};
  ctx.connection = [](const std::string& name, const std::string& path) -> uint32_t {
    if (name != "out") throw config::ConfigError(path, "no connection " + name);
    return 7;
  };
  return make_detect(config::Node(spec, "/d"), ctx);
}

Record reading(const std::string& device, double temp, TimeMs t) {
  Record r;
  r.doc = Value::object();
  r.doc.set("device", Value(device));
  r.doc.set("temp", Value(temp));
  r.event_time = t;
  return r;
}

json anomaly_of(const Record& r) { return json::parse(r.doc.find("_anomaly")->to_json()); }

json threshold_spec() {
  return {{"partitionBy", "$device"},
          {"field", "temp"},
          {"methods", {{"threshold", {{"max", 10}, {"severity", "critical"}}}}},
          {"alerts", {{"topic", "alerts/{device}"}, {"stateTopic", "state/{device}"}}}};
}

TEST(DetectStage, AddsScoreAndFlagsToEveryReading) {
  auto stage = make(threshold_spec());
  Capture ctx;
  Record r = reading("a", 5, 1000);
  ASSERT_EQ(stage->process(r, ctx), StageResult::kPass);
  EXPECT_EQ(anomaly_of(r), (json{{"score", 0.0}, {"flags", json::array()}}));
  r = reading("a", 11, 2000);
  stage->process(r, ctx);
  EXPECT_EQ(anomaly_of(r), (json{{"score", 1.0}, {"flags", {"threshold"}}}));
  Record no_temp;
  no_temp.doc = Value::object();
  no_temp.doc.set("device", Value("a"));
  ASSERT_EQ(stage->process(no_temp, ctx), StageResult::kPass);
  EXPECT_EQ(anomaly_of(no_temp)["flags"], json::array());
}

TEST(DetectStage, RaisesAndClearsWithOneIdAndRetainedState) {
  auto stage = make(threshold_spec());
  Capture ctx;
  ctx.clock = 5000;
  for (double x : {5.0, 11.0, 12.0, 5.0}) {
    Record r = reading("a", x, static_cast<TimeMs>(x * 1000));
    stage->process(r, ctx);
  }
  auto alerts = ctx.on("alerts/a");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0]["state"], "raised");
  EXPECT_EQ(alerts[0]["device"], "a");
  EXPECT_EQ(alerts[0]["pipeline"], "p");
  EXPECT_EQ(alerts[0]["field"], "temp");
  EXPECT_EQ(alerts[0]["method"], "threshold");
  EXPECT_EQ(alerts[0]["value"], 11);
  EXPECT_EQ(alerts[0]["score"], 1);
  EXPECT_EQ(alerts[0]["expected"], (json{{"high", 10}}));
  EXPECT_EQ(alerts[0]["severity"], "critical");
  EXPECT_EQ(alerts[0]["eventTime"], "1970-01-01T00:00:11.000Z");
  EXPECT_EQ(alerts[0]["processingTime"], "1970-01-01T00:00:05.000Z");
  EXPECT_EQ(alerts[1]["state"], "cleared");
  EXPECT_EQ(alerts[1]["alertId"], alerts[0]["alertId"]);
  EXPECT_EQ(alerts[1]["raisedAt"], "1970-01-01T00:00:11.000Z");
  EXPECT_EQ(alerts[0]["alertId"].get<std::string>().size(), 16u);

  auto states = ctx.on("state/a");
  ASSERT_EQ(states.size(), 2u);
  ASSERT_EQ(states[0]["active"].size(), 1u);
  EXPECT_EQ(states[0]["active"][0]["alertId"], alerts[0]["alertId"]);
  EXPECT_EQ(states[0]["active"][0]["since"], "1970-01-01T00:00:11.000Z");
  EXPECT_EQ(states[1]["active"], json::array());  // clearing the last one: the empty state
  for (const auto& m : ctx.published) EXPECT_EQ(m.retain, m.topic.rfind("state/", 0) == 0);
}

TEST(DetectStage, AlertIdsAreDeterministic) {
  auto id_of = [](const std::string& pipeline, const std::string& device, TimeMs t) {
    auto stage = make(threshold_spec(), pipeline);
    Capture ctx;
    Record r = reading(device, 50, t);
    stage->process(r, ctx);
    return ctx.on("alerts/")[0]["alertId"].get<std::string>();
  };
  EXPECT_EQ(id_of("p", "a", 1000), id_of("p", "a", 1000));
  EXPECT_NE(id_of("p", "a", 1000), id_of("p", "a", 1001));
  EXPECT_NE(id_of("p", "a", 1000), id_of("p", "b", 1000));
  EXPECT_NE(id_of("p", "a", 1000), id_of("q", "a", 1000));
}

TEST(DetectStage, SeriesAreIndependentPerPartitionAndField) {
  json spec = threshold_spec();
  spec.erase("field");
  spec["fields"] = {"temp", "hum"};
  auto stage = make(spec);
  Capture ctx;
  Record r = reading("a", 11, 0);
  r.doc.set("hum", Value(3));
  stage->process(r, ctx);
  EXPECT_EQ(anomaly_of(r)["flags"], (json{"temp:threshold"}));
  r = reading("b", 1, 0);
  r.doc.set("hum", Value(30));
  stage->process(r, ctx);
  EXPECT_EQ(anomaly_of(r)["flags"], (json{"hum:threshold"}));
  EXPECT_EQ(ctx.on("alerts/a").size(), 1u);
  EXPECT_EQ(ctx.on("alerts/b").size(), 1u);
  EXPECT_EQ(ctx.on("alerts/b")[0]["field"], "hum");
  EXPECT_EQ(stage->stats().groups, 4u);  // two partitions x two fields
  EXPECT_EQ(stage->stats().alerts_raised, 2u);
}

TEST(DetectStage, RaiseAfterAndClearAfterFromTheStage) {
  json spec = threshold_spec();
  spec["raiseAfter"] = 2;
  spec["clearAfter"] = 2;
  auto stage = make(spec);
  Capture ctx;
  TimeMs t = 0;
  auto feed = [&](double x) {
    Record r = reading("a", x, t += 1000);
    stage->process(r, ctx);
    return ctx.on("alerts/").size();
  };
  EXPECT_EQ(feed(11), 0u);
  EXPECT_EQ(feed(11), 1u);
  EXPECT_EQ(ctx.on("alerts/")[0]["eventTime"], "1970-01-01T00:00:02.000Z");
  EXPECT_EQ(feed(5), 1u);
  EXPECT_EQ(feed(11), 1u);
  EXPECT_EQ(feed(5), 1u);
  EXPECT_EQ(feed(5), 2u);
}

TEST(DetectStage, RateLimitHoldsRaisesBackAndOffersThemAgain) {
  json spec = threshold_spec();
  spec["alerts"]["rateLimit"] = {{"count", 2}, {"per", {{"size", 1}, {"unit", "second"}}}};
  auto stage = make(spec);
  Capture ctx;
  for (const char* d : {"a", "b", "c", "e"}) {
    Record r = reading(d, 20, 0);
    stage->process(r, ctx);
  }
  EXPECT_EQ(ctx.on("alerts/").size(), 2u);
  EXPECT_EQ(stage->stats().alerts_suppressed, 2u);
  Record r = reading("c", 20, 1);  // still anomalous, but no token yet: counted once
  stage->process(r, ctx);
  EXPECT_EQ(stage->stats().alerts_suppressed, 2u);
  r = reading("e", 5, 2);  // the clear of a raise that never went out does not go out either
  stage->process(r, ctx);
  EXPECT_EQ(ctx.on("alerts/").size(), 2u);
  r = reading("a", 5, 3);  // a published raise always gets its clear
  stage->process(r, ctx);
  EXPECT_EQ(ctx.on("alerts/").size(), 3u);
  ctx.clock = 1000;  // the bucket refills: c, still outside, is raised now, with its first time
  r = reading("c", 21, 4000);
  stage->process(r, ctx);
  auto alerts = ctx.on("alerts/c");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["state"], "raised");
  EXPECT_EQ(alerts[0]["eventTime"], "1970-01-01T00:00:04.000Z");
  // The id is that of the raise held back (event time 0), not of this reading.
  auto direct = make(threshold_spec());
  Capture other;
  Record first = reading("c", 20, 0);
  direct->process(first, other);
  EXPECT_EQ(alerts[0]["alertId"], other.on("alerts/c")[0]["alertId"]);
  EXPECT_EQ(stage->stats().alerts_raised, 3u);
  EXPECT_EQ(stage->stats().alerts_cleared, 1u);
  EXPECT_EQ(stage->stats().alerts_suppressed, 2u);
}

TEST(DetectStage, AnyReadingOfThePartitionFeedsTheDeadManTimer) {
  json spec = {{"partitionBy", "$device"},
               {"fields", {"temp", "hum"}},
               {"methods", {{"missing", {{"after", {{"size", 5}, {"unit", "second"}}}}}}},
               {"alerts", {{"topic", "alerts/{device}"}}}};
  auto stage = make(spec);
  Capture ctx;
  Record r;
  r.doc = Value::object();
  r.doc.set("device", Value("a"));
  r.doc.set("status", Value("alive, no temperature"));
  stage->process(r, ctx);
  ctx.clock = 4000;
  r.doc.set("temp", Value(std::numeric_limits<double>::quiet_NaN()));
  stage->process(r, ctx);
  ctx.clock = 8000;
  stage->on_tick(ctx);
  EXPECT_TRUE(ctx.on("alerts/").empty()) << "the device spoke at 4 s";
  ctx.clock = 9000;
  stage->on_tick(ctx);
  auto alerts = ctx.on("alerts/");
  ASSERT_EQ(alerts.size(), 1u) << "one alert for the partition, not one per field";
  EXPECT_EQ(alerts[0]["method"], "missing");
}

TEST(DetectStage, MissingFiresWhenTheStreamGoesQuietAndClearsOnReturn) {
  json spec = {{"partitionBy", "$device"},
               {"field", "temp"},
               {"methods", {{"missing", {{"after", {{"size", 5}, {"unit", "second"}}}}}}},
               {"alerts", {{"topic", "alerts/{device}"}, {"stateTopic", "state/{device}"}}}};
  auto stage = make(spec);
  Capture ctx;
  Record r = reading("a", 20, 100000);
  stage->process(r, ctx);
  ctx.clock = 2000;
  r = reading("b", 20, 102000);
  stage->process(r, ctx);
  ctx.clock = 4999;
  stage->on_tick(ctx);
  EXPECT_TRUE(ctx.on("alerts/").empty());
  ctx.clock = 5000;
  stage->on_tick(ctx);
  auto alerts = ctx.on("alerts/");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["device"], "a");
  EXPECT_EQ(alerts[0]["method"], "missing");
  EXPECT_EQ(alerts[0]["state"], "raised");
  EXPECT_TRUE(alerts[0]["value"].is_null());
  EXPECT_EQ(alerts[0]["lastSeen"], "1970-01-01T00:01:40.000Z");
  EXPECT_EQ(alerts[0]["eventTime"], "1970-01-01T00:01:45.000Z");
  ctx.clock = 60000;
  stage->on_tick(ctx);  // b goes quiet too; a is not raised twice
  alerts = ctx.on("alerts/");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1]["device"], "b");
  r = reading("a", 21, 160000);
  stage->process(r, ctx);
  alerts = ctx.on("alerts/");
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[2]["state"], "cleared");
  EXPECT_EQ(alerts[2]["alertId"], alerts[0]["alertId"]);
  ctx.clock = 64999;
  stage->on_tick(ctx);
  EXPECT_EQ(ctx.on("alerts/").size(), 3u);
  ctx.clock = 65000;
  stage->on_tick(ctx);  // and its timer runs again
  EXPECT_EQ(ctx.on("alerts/").size(), 4u);
  EXPECT_EQ(ctx.on("state/a").back()["active"].size(), 1u);
}

TEST(DetectStage, NonFiniteValuesAreFlaggedAndNotFedToMethods) {
  json spec = {{"field", "temp"}, {"methods", {{"zscore", {{"window", 5}, {"minSamples", 3}}}}}};
  auto stage = make(spec);
  Capture ctx;
  for (double x : {1.0, 2.0, 1.0, 2.0}) {
    Record r = reading("a", x, 0);
    stage->process(r, ctx);
  }
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    Record r = reading("a", bad, 0);
    ASSERT_EQ(stage->process(r, ctx), StageResult::kPass);
    EXPECT_EQ(anomaly_of(r), (json{{"score", 1.0}, {"flags", {"notFinite"}}}));
  }
  Record r = reading("a", 1.5, 0);
  stage->process(r, ctx);
  EXPECT_EQ(anomaly_of(r)["flags"], json::array());
  EXPECT_LT(anomaly_of(r)["score"].get<double>(), 0.5);
}

TEST(DetectStage, MissingPartitionAndMaxGroupsGoToTheDeadLetterTopic) {
  json spec = threshold_spec();
  spec["maxGroups"] = 1;
  auto stage = make(spec);
  Capture ctx;
  Record r;
  r.doc = Value::object();
  r.doc.set("temp", Value(1));
  EXPECT_EQ(stage->process(r, ctx), StageResult::kDeadLetter);
  r = reading("a", 1, 0);
  EXPECT_EQ(stage->process(r, ctx), StageResult::kPass);
  r = reading("b", 1, 0);
  EXPECT_EQ(stage->process(r, ctx), StageResult::kDeadLetter);
  EXPECT_EQ(ctx.rejected, (std::vector<std::string>{"missing_partition", "maxGroups"}));
}

TEST(DetectStage, PartitionByDocumentNamesTheGroupFields) {
  json spec = threshold_spec();
  spec["partitionBy"] = {{"site", "$site"}, {"device", "$device"}};
  spec["alerts"]["topic"] = "alerts/{site}/{device}";
  auto stage = make(spec);
  Capture ctx;
  Record r = reading("a", 50, 0);
  r.doc.set("site", Value("north"));
  stage->process(r, ctx);
  ASSERT_EQ(ctx.published.size(), 2u);
  EXPECT_EQ(ctx.published[0].topic, "alerts/north/a");
  EXPECT_EQ(json::parse(ctx.published[0].payload)["site"], "north");
}

TEST(DetectStage, WithoutAlertsOnlyAnnotates) {
  json spec = threshold_spec();
  spec.erase("alerts");
  auto stage = make(spec);
  Capture ctx;
  Record r = reading("a", 50, 0);
  stage->process(r, ctx);
  EXPECT_TRUE(ctx.published.empty());
  EXPECT_EQ(anomaly_of(r)["flags"], (json{"threshold"}));
}

// An in-memory checkpoint, with each Value through its JSON text (as a store would keep it).
class MemoryState final : public StateWriter, public StateReader {
 public:
  void put(std::string_view key, const Value& value) override { entries[std::string(key)] = value.to_json(); }
  void erase(std::string_view key) override { entries.erase(std::string(key)); }
  void for_each(const std::function<void(std::string_view, const Value&)>& visit) const override {
    for (const auto& [k, text] : entries) {
      Value v = config::to_value(nlohmann::json::parse(text));
      visit(k, v);
    }
  }
  std::map<std::string, std::string> entries;
};

// Every method, alert and timer state survives a save and a load into a fresh stage: fed the
// same readings afterwards, the restored stage answers exactly as the original does.
TEST(DetectStage, ARestoredStageContinuesExactlyAsTheOriginal) {
  json spec = {{"partitionBy", "$device"},
               {"fields", {"temp", "hum"}},
               {"methods",
                {{"threshold", {{"max", 40}}}, {"zscore", {{"window", 30}}}, {"ewma", json::object()},
                 {"mad", {{"window", 40}}}, {"cusum", {{"minSamples", 20}}}, {"rate", {{"maxPerSecond", 3}}},
                 {"flatline", {{"for", {{"size", 4}, {"unit", "second"}}}}},
                 {"missing", {{"after", {{"size", 5}, {"unit", "second"}}}}}, {"auto", json::object()}}},
               {"raiseAfter", 2},
               {"clearAfter", 3},
               {"alerts", {{"topic", "alerts/{device}"}, {"stateTopic", "state/{device}"},
                           {"rateLimit", {{"count", 5}, {"per", {{"size", 1}, {"unit", "second"}}}}}}}};
  auto original = make(spec);
  Capture a;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  auto feed = [&](Operator& stage, Capture& ctx, int i) {
    const std::string dev = "d" + std::to_string(i % 4);
    double temp = 20 + noise(rng) + (i % 97 == 0 ? 30 : 0);
    if (i % 200 > 180) temp = 22;  // stuck
    Record r = reading(dev, temp, 1000 * i);
    r.doc.set("hum", Value(50 + noise(rng)));
    ctx.clock = 1000 * i;
    stage.process(r, ctx);
    stage.on_tick(ctx);
    return anomaly_of(r).dump();
  };
  for (int i = 0; i < 1500; ++i) {
    if (i % 400 < 20 && i % 4 == 1) continue;  // d1 goes quiet now and then
    feed(*original, a, i);
  }
  MemoryState checkpoint;
  original->save(checkpoint, Operator::SaveMode::kAll);
  EXPECT_GE(checkpoint.entries.size(), 9u);  // 4 devices x 2 fields + the stage
  auto restored = make(spec);
  restored->load(checkpoint);
  EXPECT_EQ(restored->stats().groups, original->stats().groups);
  EXPECT_EQ(restored->stats().alerts_raised, original->stats().alerts_raised);
  // Both continue on the same readings (the generator's state is copied, so both see them).
  Capture b;
  b.clock = a.clock;
  a.published.clear();
  std::mt19937_64 saved = rng;
  std::vector<std::string> from_original, from_restored;
  for (int i = 1500; i < 2500; ++i) from_original.push_back(feed(*original, a, i));
  rng = saved;
  for (int i = 1500; i < 2500; ++i) from_restored.push_back(feed(*restored, b, i));
  EXPECT_EQ(from_original, from_restored);
  ASSERT_EQ(a.published.size(), b.published.size());
  for (size_t i = 0; i < a.published.size(); ++i) {
    auto pa = json::parse(a.published[i].payload), pb = json::parse(b.published[i].payload);
    EXPECT_EQ(a.published[i].topic, b.published[i].topic);
    EXPECT_EQ(pa, pb) << i;
  }
  EXPECT_GT(a.published.size(), 10u) << "the continuation raised and cleared alerts";
  MemoryState again;
  restored->save(again, Operator::SaveMode::kAll);
  original->save(checkpoint, Operator::SaveMode::kAll);
  EXPECT_EQ(again.entries, checkpoint.entries) << "both end in the same state";
}

TEST(DetectStage, AnEntryOfAnotherConfigLeavesItsSeriesFresh) {
  MemoryState checkpoint;
  checkpoint.entries["[\"a\"]|temp"] = R"({"group":"[\"a\"]","fields":{"device":"a"},"field":"temp",)"
                                        R"("methods":[[1,2,3]],"alerts":[[1,1,0,0,0,0,0,0,0]]})";
  auto stage = make(threshold_spec());
  stage->load(checkpoint);  // threshold's state is one number, not three
  Capture ctx;
  Record r = reading("a", 5, 1000);
  stage->process(r, ctx);
  EXPECT_EQ(anomaly_of(r)["flags"], json::array());
  EXPECT_EQ(ctx.on("alerts/").size(), 1u) << "the alert state loaded (active) clears";
}

struct BadConfig {
  json spec;
  std::string path;
  std::string expected;
};

TEST(DetectStage, ConfigErrorsNameThePath) {
  const BadConfig cases[] = {
      {{{"field", "t"}, {"methods", {{"bogus", json::object()}}}}, "/d/methods/bogus", "a method named"},
      {{{"methods", {{"auto", json::object()}}}}, "/d", "\"field\""},
      {{{"field", "t"}, {"methods", {{"threshold", json::object()}}}}, "/d/methods/threshold", "\"min\", \"max\""},
      {{{"field", "t"}, {"methods", {{"zscore", {{"window", 5}, {"minSamples", 6}}}}}},
       "/d/methods/zscore/minSamples", "not above the window"},
      {{{"field", "t"}, {"methods", {{"ewma", {{"alpha", 1.5}}}}}}, "/d/methods/ewma/alpha", "(0, 1]"},
      {{{"field", "t"}, {"methods", {{"rate", json::object()}}}}, "/d/methods/rate/maxPerSecond", "missing required option"},
      {{{"field", "t"}, {"methods", {{"flatline", {{"for", 3}}}}}}, "/d/methods/flatline/for", ""},
      {{{"field", "t"}, {"methods", json::object()}}, "/d/methods", "at least one method"},
      {{{"field", "t"}, {"methods", {{"auto", json::object()}}}, {"alerts", {{"topic", "a"}, {"connectionName", "nope"}}}},
       "/d/alerts/connectionName", "no connection"},
      {{{"field", "t"}, {"methods", {{"auto", json::object()}}}, {"severity", "loud"}}, "/d/severity", "critical"},
      {{{"field", "t"}, {"partitionBy", 3}, {"methods", {{"auto", json::object()}}}}, "/d/partitionBy", "$device"},
      {{{"field", "t"}, {"partitionBy", "$site.state"}, {"methods", {{"auto", json::object()}}}}, "/d/partitionBy",
       "other than the alert's own keys"},
      {{{"field", "t"}, {"partitionBy", {{"severity", "$s"}}}, {"methods", {{"auto", json::object()}}}},
       "/d/partitionBy/severity", "other than the alert's own keys"},
  };
  for (const auto& c : cases) {
    try {
      make(c.spec);
      ADD_FAILURE() << "accepted " << c.spec.dump();
    } catch (const config::ConfigError& e) {
      EXPECT_EQ(e.path(), c.path) << c.spec.dump() << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace weir::pipeline::detect
