// The engine without a broker: messages in, outputs to a recording sink, time by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

#include "engine/checkpoint.hpp"
#include "engine/engine.hpp"

namespace weir::engine {
namespace {

class RecordingSink final : public Sink {
 public:
  std::string_view name() const noexcept override { return "rec"; }
  SinkResult send(const OutputMessage& m) override {
    out.push_back(m);
    return SinkResult::kOk;
  }
  bool ready() const noexcept override { return true; }
  void poll(std::vector<SinkConfirmation>&) override {}
  std::vector<OutputMessage> out;
};

config::Config two_pipelines() {
  return config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}, "up": {"type": "mqtt", "port": 1884}},
    "pipelines": [
      {"name": "all", "dlq": {"connectionName": "up", "topic": "dlq/all"}, "pipeline": [
        {"$source": {"connectionName": "in", "topic": "s/+dev/+kind", "timeField": "ts"}},
        {"$emit": {"connectionName": "up", "topic": "all/{dev}/{kind}"}}]},
      {"name": "hot", "pipeline": [
        {"$source": {"connectionName": "in", "topic": "s/+dev/temp", "timeField": "ts"}},
        {"$match": {"v": {"$gt": 30}}},
        {"$emit": {"connectionName": "in", "topic": "hot/{dev}", "qos": 0}}]},
      {"name": "text", "pipeline": [
        {"$source": {"connectionName": "in", "topic": "raw/+dev/+field", "format": "text", "qos": 0}},
        {"$emit": {"connectionName": "in", "topic": "num/{dev}"}}]}
    ]})", "t.json");
}

Message message(uint32_t conn, std::string topic, std::string payload, TimeMs received = 5) {
  Message m;
  m.connection = conn;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.received = received;
  return m;
}

TEST(Engine, SharesSubscriptionsAndRoutesToEveryMatchingPipeline) {
  config::Config cfg = two_pipelines();
  ManualClock clock;
  Engine engine(cfg, clock);
  ASSERT_EQ(engine.connection_names(), (std::vector<std::string>{"in", "up"}));
  // "s/+/temp" is covered by "s/+/+": one subscription carries both pipelines' messages.
  auto subs = engine.subscriptions();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].filter, "s/+/+");
  EXPECT_EQ(subs[1].filter, "raw/+/+");
  EXPECT_EQ(subs[1].qos, 0);
  RecordingSink in_sink, up_sink;
  engine.set_sink(0, &in_sink);
  engine.set_sink(1, &up_sink);

  engine.handle(message(0, "s/d1/temp", R"({"ts": 1, "v": 35})"));
  engine.handle(message(0, "s/d1/temp", R"({"ts": 2, "v": 20})"));
  engine.handle(message(0, "s/d2/hum", R"({"ts": 3, "v": 99})"));
  engine.handle(message(0, "raw/d3/temp", " 21.25\n"));
  engine.handle(message(1, "s/d1/temp", R"({"ts": 4, "v": 40})"));  // other connection: no route
  engine.handle(message(0, "nothing/here", "{}"));

  ASSERT_EQ(up_sink.out.size(), 3u);
  EXPECT_EQ(up_sink.out[0].topic, "all/d1/temp");
  EXPECT_EQ(up_sink.out[0].payload, R"({"ts":1,"v":35,"dev":"d1","kind":"temp"})");
  EXPECT_EQ(up_sink.out[2].topic, "all/d2/hum");
  ASSERT_EQ(in_sink.out.size(), 2u);
  EXPECT_EQ(in_sink.out[0].topic, "hot/d1");
  EXPECT_EQ(in_sink.out[0].qos, 0);
  EXPECT_EQ(in_sink.out[0].payload, R"({"ts":1,"v":35,"dev":"d1"})");
  EXPECT_EQ(in_sink.out[1].topic, "num/d3");
  EXPECT_EQ(in_sink.out[1].payload, R"({"value":21.25,"dev":"d3","field":"temp"})");
  EXPECT_EQ(engine.unmatched(), 2u);
  EXPECT_EQ(engine.pipelines()[1]->counters().filtered, 1u);
}

TEST(Engine, BadPayloadsGoToTheDeadLetterTopicWithTheirReason) {
  config::Config cfg = two_pipelines();
  ManualClock clock(1767225600000);
  Engine engine(cfg, clock);
  RecordingSink in_sink, up_sink;
  engine.set_sink(0, &in_sink);
  engine.set_sink(1, &up_sink);
  engine.handle(message(0, "s/d1/temp", R"({"ts": 1, "v": )"));
  engine.handle(message(0, "s/d1/temp", R"({"v": 1})"));
  engine.handle(message(0, "s/d1/temp", R"({"ts": "soon", "v": 1})"));
  engine.handle(message(0, "s/d1/temp", std::string("\xff\xfe\x01", 3)));
  engine.handle(message(0, "s/d1/temp", R"({"ts": true})"));
  engine.handle(message(0, "s/d1/temp", R"({"ts": "2026-01-01T00:00:00.5Z", "v": 1})", 1767225600000));
  ASSERT_EQ(up_sink.out.size(), 6u);
  std::vector<std::string> reasons;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(up_sink.out[i].topic, "dlq/all");
    auto doc = nlohmann::json::parse(up_sink.out[i].payload);
    reasons.push_back(doc["reason"]);
    EXPECT_EQ(doc["pipeline"], "all");
    EXPECT_EQ(doc["topic"], "s/d1/temp");
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"malformed", "missing_time", "bad_time", "malformed", "bad_time"}));
  auto bin = nlohmann::json::parse(up_sink.out[3].payload);
  EXPECT_EQ(bin["encoding"], "base64");
  EXPECT_EQ(bin["payload"], "//4B");
  EXPECT_EQ(up_sink.out[5].topic, "all/d1/temp");
  const auto& c = engine.pipelines()[0]->counters();
  EXPECT_EQ(c.dead_letter_total(), 5u);
  EXPECT_EQ(c.dead_letters.at("malformed"), 2u);
  // The pipeline without a dlq counts too (the "hot" pipeline saw the same payloads).
  EXPECT_EQ(engine.pipelines()[1]->counters().dead_letter_total(), 5u);
}

TEST(Engine, OversizePayloadIsDeadLettered) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "dlq": {"connectionName": "in", "topic": "dlq"}, "pipeline": [
        {"$source": {"connectionName": "in", "topic": "t", "maxPayloadBytes": 16}},
        {"$emit": {"connectionName": "in", "topic": "o"}}]}]})", "t.json");
  ManualClock clock;
  Engine engine(cfg, clock);
  RecordingSink sink;
  engine.set_sink(0, &sink);
  engine.handle(message(0, "t", R"({"a": "0123456789"})"));
  engine.handle(message(0, "t", R"({"a": 1})"));
  ASSERT_EQ(sink.out.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sink.out[0].payload)["reason"], "payload_too_large");
  EXPECT_EQ(sink.out[1].topic, "o");
}

TEST(Engine, StageErrorsAreConfigErrorsWithPaths) {
  auto bad = [](const char* stages) {
    std::string text = std::string(R"({"connections": {"in": {"type": "mqtt"}}, "pipelines": [{"name": "p", "pipeline": )") + stages + "}]}";
    auto cfg = config::Config::parse(text, "t.json");
    ManualClock clock;
    try {
      Engine e(cfg, clock);
    } catch (const config::ConfigError& err) {
      return err.path();
    }
    return std::string("accepted");
  };
  EXPECT_EQ(bad(R"([{"$emit": {"connectionName": "in", "topic": "o"}}])"), "/pipelines/0/pipeline/0");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$match": {}}, {"$source": {}}, {"$emit": {"connectionName": "in", "topic": "o"}}])"),
            "/pipelines/0/pipeline/2");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t", "timeUnit": "hours"}}, {"$emit": {"connectionName": "in", "topic": "o"}}])"),
            "/pipelines/0/pipeline/0/$source/timeUnit");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$emit": {"connectionName": "x", "topic": "o"}}])"),
            "/pipelines/0/pipeline/1/$emit/connectionName");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$emit": {"connectionName": "in", "topic": "o/+"}}])"),
            "/pipelines/0/pipeline/1/$emit/topic");
}

TEST(Engine, ConnectionTypesMustFitTheirStage) {
  auto bad = [](const char* stages) {
    std::string text = std::string(R"({"connections": {"in": {"type": "mqtt"}, "hist": {"type": "sqlite", "path": "h.db"},
        "k": {"type": "kafka", "bootstrapServers": "127.0.0.1:9"}}, "pipelines": [{"name": "p", "pipeline": )") + stages + "}]}";
    auto cfg = config::Config::parse(text, "t.json");
    ManualClock clock;
    try {
      Engine e(cfg, clock);
    } catch (const config::ConfigError& err) {
      return err.path() + ": " + err.message();
    }
    return std::string("accepted");
  };
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "k", "topic": "t"}}, {"$emit": {"connectionName": "in", "topic": "o"}}])"),
            "/pipelines/0/pipeline/0/$source/connectionName: connection \"k\" is of type kafka, expected a connection of type mqtt");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$emit": {"connectionName": "hist", "topic": "o"}}])"),
            "/pipelines/0/pipeline/1/$emit/connectionName: connection \"hist\" is of type sqlite, expected a connection of type mqtt or kafka");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$merge": {"into": {"connectionName": "k", "table": "t"}}}])"),
            "/pipelines/0/pipeline/1/$merge/into/connectionName: connection \"k\" is of type kafka, expected a connection of type sqlite");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$merge": {"into": {"connectionName": "hist", "table": "1t"}}}])"),
            "/pipelines/0/pipeline/1/$merge/into/table: got \"1t\", expected a table name of letters, digits and \"_\" (not starting with a digit or \"sqlite_\", at most 64 characters)");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$merge": {"into": {"connectionName": "hist", "table": "agg"}}}])"),
            "accepted");
  EXPECT_EQ(bad(R"([{"$source": {"connectionName": "in", "topic": "t"}}, {"$emit": {"connectionName": "k", "topic": "agg", "key": "{dev}"}}])"),
            "accepted");
}

TEST(Engine, OutputsCarryTheirKeyIdAndWindowAsMetadata) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [
      {"name": "w", "pipeline": [
        {"$source": {"connectionName": "in", "topic": "s/+dev", "timeField": "ts"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
                             "pipeline": [{"$group": {"_id": "$dev", "n": {"$count": {}}}}]}},
        {"$emit": {"connectionName": "in", "topic": "agg/{_id}", "messageExpiry": {"size": 1, "unit": "hour"}}}]},
      {"name": "k", "pipeline": [
        {"$source": {"connectionName": "in", "topic": "s/+dev", "timeField": "ts"}},
        {"$emit": {"connectionName": "in", "topic": "raw", "key": "dev-{dev}"}}]}]})", "t.json");
  ManualClock clock;
  clock.set(2000);
  Engine engine(cfg, clock);
  RecordingSink sink;
  engine.set_sink(0, &sink);
  auto msg = [&](const char* topic, const char* payload) {
    Message m;
    m.connection = 0;
    m.topic = topic;
    m.payload = payload;
    m.received = 2000;
    engine.handle(m);
  };
  msg("s/a", R"({"ts": 100})");
  msg("s/a", R"({"ts": 1100})");  // closes [0, 1000)
  ASSERT_EQ(sink.out.size(), 3u);
  const OutputMessage& raw = sink.out[0];
  EXPECT_EQ(raw.topic, "raw");
  EXPECT_EQ(raw.key, "dev-a");
  EXPECT_TRUE(raw.output_id.empty());
  const OutputMessage& agg = sink.out[1];
  EXPECT_EQ(agg.topic, "agg/a");
  EXPECT_EQ(agg.key, "a");  // the group key
  EXPECT_EQ(agg.expiry_s, 3600u);
  EXPECT_NE(agg.payload.find("\"outputId\":\"" + agg.output_id + "\""), std::string::npos) << agg.payload;
  EXPECT_EQ(agg.output_id.size(), 16u);
  EXPECT_EQ(agg.headers, (std::vector<std::pair<std::string, std::string>>{
                             {"weir-pipeline", "w"},
                             {"weir-window-start", "1970-01-01T00:00:00.000Z"},
                             {"weir-window-end", "1970-01-01T00:00:01.000Z"}}));
}

}  // namespace
}  // namespace weir::engine

namespace weir::engine {
namespace {

TEST(Engine, CoveredFiltersAreSubscribedOnceWithTheHighestQos) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}, "other": {"type": "mqtt"}},
    "pipelines": [
      {"name": "a", "pipeline": [{"$source": {"connectionName": "in", "topic": "s/+d/t", "qos": 2}},
                                 {"$emit": {"connectionName": "in", "topic": "o"}}]},
      {"name": "b", "pipeline": [{"$source": {"connectionName": "in", "topic": "s/#rest", "qos": 0}},
                                 {"$emit": {"connectionName": "in", "topic": "o"}}]},
      {"name": "c", "pipeline": [{"$source": {"connectionName": "other", "topic": "s/x/t"}},
                                 {"$emit": {"connectionName": "in", "topic": "o"}}]}]})", "t.json");
  ManualClock clock;
  Engine engine(cfg, clock);
  auto subs = engine.subscriptions();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].filter, "s/#");
  EXPECT_EQ(subs[0].qos, 2);
  EXPECT_EQ(engine.connection_names()[subs[1].connection], "other");
  EXPECT_EQ(subs[1].filter, "s/x/t");
}

TEST(Engine, FarFutureReadingsAreDeadLetteredNotWindowed) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "dlq": {"connectionName": "in", "topic": "dlq"}, "pipeline": [
        {"$source": {"connectionName": "in", "topic": "t", "timeField": "ts", "maxFutureSkew": {"size": 1, "unit": "minute"}}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
                             "pipeline": [{"$group": {"_id": null, "n": {"$count": {}}}}]}},
        {"$emit": {"connectionName": "in", "topic": "o"}}]}]})", "t.json");
  ManualClock clock(1000000);
  Engine engine(cfg, clock);
  RecordingSink sink;
  engine.set_sink(0, &sink);
  engine.handle(message(0, "t", R"({"ts": 1000500})", 1000000));
  engine.handle(message(0, "t", R"({"ts": 1060001})", 1000000));  // 60.001 s ahead
  engine.handle(message(0, "t", R"({"ts": 1000700})", 1000000));  // not late: the watermark did not jump
  ASSERT_EQ(sink.out.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(sink.out[0].payload)["reason"], "future_time");
  engine.flush();
  ASSERT_EQ(sink.out.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sink.out[1].payload)["n"], 2);
}

TEST(Engine, DeadLettersCarryAtMostFourKibOfThePayload) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "dlq": {"connectionName": "in", "topic": "dlq"}, "pipeline": [
        {"$source": {"connectionName": "in", "topic": "t", "maxPayloadBytes": 100}},
        {"$emit": {"connectionName": "in", "topic": "o"}}]}]})", "t.json");
  ManualClock clock;
  Engine engine(cfg, clock);
  RecordingSink sink;
  engine.set_sink(0, &sink);
  engine.handle(message(0, "t", std::string(100000, 'x')));
  ASSERT_EQ(sink.out.size(), 1u);
  auto doc = nlohmann::json::parse(sink.out[0].payload);
  EXPECT_EQ(doc["reason"], "payload_too_large");
  EXPECT_EQ(doc["truncated"], true);
  EXPECT_EQ(doc["payloadBytes"], 100000);
  EXPECT_EQ(doc["payload"].get<std::string>().size(), 4096u);
}

}  // namespace
}  // namespace weir::engine

namespace weir::engine {
namespace {

// A checkpoint in a real state database, restored into a second engine built from the same
// config: both answer the next readings identically (detector and alert state included),
// and a second checkpoint replaces the first (no stale entries).
TEST(Checkpoint, RestoredEngineContinuesExactlyAsTheOriginal) {
  char tmpl[] = "/tmp/weir-ckpt-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  config::Config cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [{"name": "watch", "pipeline": [
      {"$source": {"connectionName": "in", "topic": "s/+dev/temp", "timeField": "ts"}},
      {"$match": {"v": {"$gt": -100}}},
      {"$detect": {"partitionBy": "$dev", "field": "v",
                   "methods": {"ewma": {"minSamples": 5}, "zscore": {"window": 20}, "auto": {}},
                   "alerts": {"topic": "alerts/{dev}"}}},
      {"$emit": {"connectionName": "in", "topic": "out/{dev}"}}]}]})", "t.json");
  auto msg = [](int i) {
    const std::string dev = "d" + std::to_string(i % 3);
    const double v = 20.0 + (i * 37 % 11) * 0.1 + (i % 50 == 7 ? 15.0 : 0.0);
    return message(0, "s/" + dev + "/temp",
                   "{\"ts\": " + std::to_string(1000 * i) + ", \"v\": " + std::to_string(v) + "}", 1000 * i);
  };
  ManualClock clock_a, clock_b;
  Engine a(cfg, clock_a), b(cfg, clock_b);
  RecordingSink sink_a, sink_b;
  a.set_sink(0, &sink_a);
  b.set_sink(0, &sink_b);
  for (int i = 0; i < 300; ++i) {
    clock_a.set(1000 * i);
    a.handle(msg(i));
  }
  {
    auto store = state::StateStore::open({.path = dir + "/weir.db"});
    CheckpointStats st = save_checkpoint(a, *store);
    EXPECT_GE(st.entries, 4u);  // three devices and the stage's own entry
    st = save_checkpoint(a, *store);  // written again in full, not added to
    EXPECT_EQ(store->summary().stages.size(), 1u);
    EXPECT_EQ(store->summary().stages[0].entries, static_cast<int64_t>(st.entries));
    EXPECT_EQ(store->summary().stages[0].stage, 2) << "the stage's position in the pipeline";
    // Nothing changed: only the stage's own entry is written; then one device's reading:
    // that device's series besides.
    EXPECT_EQ(save_checkpoint(a, *store, Operator::SaveMode::kChanged).entries, 1u);
    clock_a.set(1000 * 300);
    a.handle(msg(300));
    EXPECT_EQ(save_checkpoint(a, *store, Operator::SaveMode::kChanged).entries, 2u);
    EXPECT_EQ(store->summary().stages[0].entries, static_cast<int64_t>(st.entries));
    // The source position goes with the same transaction, and a full checkpoint keeps it.
    Value es = Value::object();
    es.set("journalSeq", Value(int64_t{301}));
    save_checkpoint(a, *store, Operator::SaveMode::kAll, &es);
    auto back = load_engine_state(*store);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->find("journalSeq")->as_int(), 301);
  }
  auto store = state::StateStore::open({.path = dir + "/weir.db"});
  EXPECT_GE(load_checkpoint(b, *store), 4u);
  sink_a.out.clear();
  for (int i = 301; i < 600; ++i) {  // b restored the checkpoint taken after a's reading 300
    clock_a.set(1000 * i);
    clock_b.set(1000 * i);
    a.handle(msg(i));
    b.handle(msg(i));
  }
  ASSERT_EQ(sink_a.out.size(), sink_b.out.size());
  size_t alerts = 0;
  for (size_t i = 0; i < sink_a.out.size(); ++i) {
    EXPECT_EQ(sink_a.out[i].topic, sink_b.out[i].topic);
    EXPECT_EQ(sink_a.out[i].payload, sink_b.out[i].payload) << i;
    alerts += sink_a.out[i].topic.rfind("alerts/", 0) == 0 ? 1 : 0;
  }
  EXPECT_GT(alerts, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weir::engine
