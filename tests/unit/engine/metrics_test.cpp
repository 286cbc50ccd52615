// The metrics renderings: the Prometheus text and the JSON document (published over MQTT)
// carry the same samples, with the engine's counters.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "engine/metrics.hpp"
#include "support/prometheus_text.hpp"

namespace weir::engine {
namespace {

class NullSink final : public Sink {
 public:
  std::string_view name() const noexcept override { return "null"; }
  SinkResult send(const OutputMessage&) override { return SinkResult::kOk; }
  bool ready() const noexcept override { return true; }
  void poll(std::vector<SinkConfirmation>&) override {}
};

Message message(std::string topic, std::string payload) {
  Message m;
  m.connection = 0;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.received = 1767225600000;
  return m;
}

// The same keys built from the JSON document.
std::map<std::string, double> parse_json(const nlohmann::json& doc) {
  std::map<std::string, double> out;
  for (const auto& [name, family] : doc.at("metrics").items()) {
    for (const auto& s : family.at("samples")) {
      std::string key = name;
      if (!s.at("labels").empty()) {
        key += '{';
        bool first = true;
        // Label order matters in the text: JSON objects are sorted, so rebuild in the text's
        // order (pipeline, reason / stage, kind / connection, type / limit).
        for (const char* k : {"version", "pipeline", "reason", "stage", "kind", "connection", "type", "limit"}) {
          if (!s.at("labels").contains(k)) continue;
          if (!first) key += ',';
          first = false;
          std::string v = s.at("labels").at(k);
          std::string escaped;
          for (char c : v) {
            if (c == '"' || c == '\\') escaped += '\\';
            escaped += c;
          }
          key += std::string(k) + "=\"" + escaped + "\"";
        }
        key += '}';
      }
      out[key] = s.at("value").get<double>();
    }
  }
  return out;
}

TEST(Metrics, TextAndJsonCarryTheSameSamplesAndTheEngineCounters) {
  auto cfg = config::Config::parse(R"({
    "connections": {"in": {"type": "mqtt"}},
    "pipelines": [
      {"name": "say \"hi\"", "pipeline": [
        {"$source": {"connectionName": "in", "topic": "s/+dev", "timeField": "ts"}},
        {"$match": {"v": {"$gte": 0}}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "minute"},
          "pipeline": [{"$group": {"_id": "$dev", "n": {"$count": {}}}}]}},
        {"$emit": {"connectionName": "in", "topic": "out/{_id}"}}]}
    ]})", "t.json");
  ManualClock clock(1767225600000);
  Engine engine(cfg, clock);
  NullSink sink;
  engine.set_sink(0, &sink);
  for (int i = 0; i < 9; ++i) {
    engine.handle(message("s/d" + std::to_string(i % 3), R"({"ts": 1767225600000, "v": )" + std::to_string(i - 2) + "}"));
  }
  engine.handle(message("s/d0", "{"));
  RunView view{engine, {}, 3, 100, 0, {}};
  view.connections.push_back({"in", "mqtt", true, true, 10, 0, 0, nullptr});

  const auto text = test::parse_metrics(prometheus_metrics(view, clock.now(), "1.2.3"));
  const auto doc = nlohmann::json::parse(json_metrics(view, clock.now(), "1.2.3"));
  EXPECT_EQ(doc.at("version"), "1.2.3");
  EXPECT_EQ(doc.at("time"), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(doc.at("metrics").at("weir_readings_in_total").at("type"), "counter");
  EXPECT_TRUE(doc.at("metrics").at("weir_readings_in_total").at("samples").at(0).at("value").is_number_integer());
  const auto from_json = parse_json(doc);
  // Everything but the process' own numbers, which move between the two renderings.
  auto strip = [](std::map<std::string, double> m) {
    m.erase("process_cpu_seconds_total");
    m.erase("process_resident_memory_bytes");
    return m;
  };
  EXPECT_EQ(strip(text), strip(from_json));

  const std::string p = R"(pipeline="say \"hi\"")";
  EXPECT_EQ(text.at("weir_readings_in_total{" + p + "}"), 9);
  EXPECT_EQ(text.at("weir_readings_filtered_total{" + p + "}"), 2);
  EXPECT_EQ(text.at("weir_dead_letters_total{" + p + ",reason=\"malformed\"}"), 1);
  EXPECT_EQ(text.at("weir_open_groups{" + p + ",stage=\"2\",kind=\"$tumblingWindow\"}"), 3);
  EXPECT_EQ(text.at("weir_queue_depth"), 3);
  EXPECT_EQ(text.at("weir_connection_up{connection=\"in\",type=\"mqtt\"}"), 1);
  EXPECT_EQ(text.at("weir_connection_received_total{connection=\"in\"}"), 10);
  EXPECT_EQ(text.at("weir_info{version=\"1.2.3\"}"), 1);
}

}  // namespace
}  // namespace weir::engine
