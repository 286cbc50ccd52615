#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.hpp"

namespace weir::config {
namespace {

const char* kMinimal = R"({
  "connections": {"local": {"type": "mqtt"}},
  "pipelines": [{"name": "p", "pipeline": [{"$source": {}}, {"$emit": {}}]}]
})";

TEST(Config, DefaultsForAConnection) {
  Config c = Config::parse(kMinimal, "x.json");
  const auto& conn = c.connections().at("local");
  EXPECT_EQ(conn.host, "127.0.0.1");
  EXPECT_EQ(conn.port, 1883);
  EXPECT_EQ(conn.client_id, "weir-local");
  EXPECT_FALSE(conn.clean_session);
  EXPECT_EQ(c.pipelines().at(0).name, "p");
  EXPECT_EQ(c.stages(0).path(), "/pipelines/0/pipeline");
  EXPECT_EQ(c.engine().queue_capacity, 10000u);
}

TEST(Config, PasswordFromEnvironmentAndTlsDefaultsPort) {
  setenv("WEIR_TEST_PW", "s3cret", 1);
  Config c = Config::parse(R"({
    "connections": {"up": {"type": "mqtt", "username": "u", "passwordEnv": "WEIR_TEST_PW",
                           "tls": {"caFile": "/tmp/ca.pem"}}},
    "pipelines": [{"name": "p", "pipeline": [{"$source": {}}]}]})", "x.json");
  const auto& up = c.connections().at("up");
  EXPECT_EQ(up.password, "s3cret");
  EXPECT_EQ(up.port, 8883);
  ASSERT_TRUE(up.tls.has_value());
  EXPECT_EQ(up.tls->ca_file, "/tmp/ca.pem");
}

TEST(Config, KafkaAndSqliteConnectionsAndOutboxes) {
  setenv("WEIR_TEST_SASL", "k4fka", 1);
  Config c = Config::parse(R"({
    "connections": {
      "cloud": {"type": "kafka", "bootstrapServers": "127.0.0.1:9092", "compression": "zstd", "lingerMs": 5,
                "username": "gw", "passwordEnv": "WEIR_TEST_SASL",
                "options": {"socket.timeout.ms": 10000, "enable.ssl.certificate.verification": false,
                            "client.rack": "r1"},
                "outbox": {"maxBytes": 1048576, "maxAge": {"size": 2, "unit": "day"}, "drainRate": 50,
                           "resendPriority": "live", "maxInFlight": 200}},
      "hist": {"type": "sqlite", "path": "/var/lib/weir/history.db"},
      "up": {"type": "mqtt", "mqttVersion": "5"},
      "in": {"type": "mqtt"}},
    "pipelines": [{"name": "p", "pipeline": [{"$source": {}}]}]})", "x.json");
  const auto& k = c.connections().at("cloud");
  EXPECT_EQ(k.kafka.bootstrap_servers, "127.0.0.1:9092");
  EXPECT_EQ(k.kafka.compression, "zstd");
  EXPECT_EQ(k.kafka.linger_ms, 5);
  EXPECT_EQ(k.password, "k4fka");
  EXPECT_EQ(k.client_id, "weir-cloud");
  // Options pass through as librdkafka strings, in the order given.
  ASSERT_EQ(k.kafka.options.size(), 3u);
  EXPECT_EQ(k.kafka.options[0], (std::pair<std::string, std::string>{"socket.timeout.ms", "10000"}));
  EXPECT_EQ(k.kafka.options[1], (std::pair<std::string, std::string>{"enable.ssl.certificate.verification", "false"}));
  ASSERT_TRUE(k.outbox.has_value());
  EXPECT_EQ(k.outbox->max_bytes, 1048576);
  EXPECT_EQ(k.outbox->max_age_ms, 2 * 86400000);
  EXPECT_EQ(k.outbox->drain_rate, 50);
  EXPECT_TRUE(k.outbox->live_first);
  EXPECT_EQ(k.outbox->max_in_flight, 200u);
  // SQLite and Kafka always have an outbox; MQTT only when asked.
  EXPECT_EQ(c.connections().at("hist").sqlite_path, "/var/lib/weir/history.db");
  EXPECT_TRUE(c.connections().at("hist").outbox.has_value());
  EXPECT_FALSE(c.connections().at("in").outbox.has_value());
  EXPECT_EQ(c.connections().at("up").mqtt_version, 5);
  EXPECT_EQ(c.connections().at("in").mqtt_version, 0);
}

struct Bad {
  const char* text;
  const char* path;
  const char* message_part;
};

TEST(Config, ErrorsNameThePathAndWhatWasExpected) {
  const Bad cases[] = {
      {R"([])", "/", "expected an object"},
      {R"({"connections": {}, "pipelines": []})", "/connections", "at least one connection"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "pipelines": []})", "/pipelines", "non-empty array"},
      {R"({"connections": {"a": {"type": "mqtt", "port": "1883"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/port", "expected an integer from 1 to 65535"},
      {R"({"connections": {"a": {"type": "mqtt", "hots": "x"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/hots", "unknown option \"hots\""},
      {R"({"connections": {"a": {"type": "mqtt"}}, "pipelines": [{"name": "", "pipeline": [1]}]})",
       "/pipelines/0/name", "non-empty string"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "pipelines": [{"name": "p", "dlq": {"connectionName": "b", "topic": "d"}, "pipeline": [1]}]})",
       "/pipelines/0/dlq/connectionName", "unknown connection \"b\""},
      {R"({"connections": {"a": {"type": "mqtt"}}, "pipelines": [{"name": "p", "dlq": {"connectionName": "a", "topic": "d/#"}, "pipeline": [1]}]})",
       "/pipelines/0/dlq/topic", "without wildcards"},
      {R"({"connections": {"a": {"type": "mqtt", "passwordEnv": "WEIR_SURELY_UNSET_VAR"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/passwordEnv", "is not set"},
      {R"({"connections": {"a": {"type": "mqtt", "tls": {"certFile": "c.pem"}}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/tls", "certFile and keyFile go together"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "engine": {"logLevel": "loud"}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/engine/logLevel", "expected one of \"trace\""},
      {R"({"connections": {"a/b": {"type": "mqtt", "x~": 1}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a~1b/x~0", "unknown option \"x~\""},
      {R"({"connections": {"a": {"type": "amqp"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/type", "expected one of \"mqtt\", \"kafka\", \"sqlite\""},
      {R"({"connections": {"a": {"type": "kafka"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/bootstrapServers", "missing"},
      {R"({"connections": {"a": {"type": "kafka", "bootstrapServers": "h:1", "compression": "lzma"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/compression", "expected one of \"none\""},
      {R"({"connections": {"a": {"type": "kafka", "bootstrapServers": "h:1", "options": {"acks": [1]}}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/options/acks", "a string, number or boolean"},
      {R"({"connections": {"a": {"type": "kafka", "bootstrapServers": "h:1", "host": "x"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/host", "unknown option \"host\""},
      {R"({"connections": {"a": {"type": "mqtt", "outbox": {"resendPriority": "fair"}}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/outbox/resendPriority", "expected one of \"live\", \"order\""},
      {R"({"connections": {"a": {"type": "mqtt", "outbox": {"maxBytes": 10}}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/outbox/maxBytes", "from 4096"},
      {R"({"connections": {"a": {"type": "mqtt", "mqttVersion": "3"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/mqttVersion", "expected one of \"auto\", \"5\", \"3.1.1\""},
      {R"({"connections": {"a": {"type": "sqlite"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/connections/a/path", "missing"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics", "\"port\" (the HTTP endpoint) or \"mqtt\""},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {"port": 9464, "listen": "0.0.0.0"}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/listen", "expected one of \"127.0.0.1\""},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {"mqtt": {"connectionName": "b", "topic": "m"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/mqtt/connectionName", "unknown connection \"b\""},
      {R"({"connections": {"a": {"type": "sqlite", "path": "x.db"}}, "metrics": {"mqtt": {"connectionName": "a", "topic": "m"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/mqtt/connectionName", "an MQTT connection (\"a\" is of type \"sqlite\")"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {"mqtt": {"connectionName": "a", "topic": "m/#"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/mqtt/topic", "without wildcards"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {"mqtt": {"connectionName": "a"}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/mqtt/topic", "missing"},
      {R"({"connections": {"a": {"type": "mqtt"}}, "metrics": {"mqtt": {"connectionName": "a", "topic": "m", "every": 1}}, "pipelines": [{"name": "p", "pipeline": [1]}]})",
       "/metrics/mqtt/every", "unknown option \"every\""},
  };
  for (const auto& c : cases) {
    try {
      Config::parse(c.text, "x.json");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.path(), c.path) << e.what();
      EXPECT_NE(e.message().find(c.message_part), std::string::npos) << e.what();
    }
  }
}

TEST(Config, MetricsOverHttpOverMqttOrBoth) {
  const char* both = R"({
    "connections": {"local": {"type": "mqtt"}},
    "metrics": {"port": 9464, "listen": "localhost",
                "mqtt": {"connectionName": "local", "topic": "weir/gw1/metrics",
                         "interval": {"size": 30, "unit": "second"}, "retain": true}},
    "pipelines": [{"name": "p", "pipeline": [{"$source": {}}, {"$emit": {}}]}]
  })";
  auto cfg = Config::parse(both, "x.json");
  ASSERT_TRUE(cfg.metrics());
  EXPECT_EQ(cfg.metrics()->port, 9464);
  EXPECT_EQ(cfg.metrics()->listen, "127.0.0.1");
  ASSERT_TRUE(cfg.metrics()->mqtt);
  EXPECT_EQ(cfg.metrics()->mqtt->connection, "local");
  EXPECT_EQ(cfg.metrics()->mqtt->topic, "weir/gw1/metrics");
  EXPECT_EQ(cfg.metrics()->mqtt->interval_ms, 30000);
  EXPECT_TRUE(cfg.metrics()->mqtt->retain);

  const char* mqtt_only = R"({
    "connections": {"local": {"type": "mqtt"}},
    "metrics": {"mqtt": {"connectionName": "local", "topic": "m"}},
    "pipelines": [{"name": "p", "pipeline": [{"$source": {}}, {"$emit": {}}]}]
  })";
  auto m = Config::parse(mqtt_only, "x.json");
  ASSERT_TRUE(m.metrics());
  EXPECT_EQ(m.metrics()->port, 0);  // no HTTP endpoint
  ASSERT_TRUE(m.metrics()->mqtt);
  EXPECT_EQ(m.metrics()->mqtt->interval_ms, 10000);
  EXPECT_FALSE(m.metrics()->mqtt->retain);
  EXPECT_FALSE(Config::parse(kMinimal, "x.json").metrics());
}

TEST(Config, InvalidJsonGivesLineAndColumn) {
  try {
    Config::parse("{\n  \"connections\": {\n    \"a\": }\n}", "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3, column"), std::string::npos) << e.what();
  }
}

TEST(Config, NumberTooLargeForADoubleIsAConfigError) {
  // Found by tests/fuzz/fuzz_config: nlohmann reports it as out_of_range, not parse_error.
  try {
    Config::parse(R"({"connections": {"a": {"type": "mqtt", "port": 1e999}}})", "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("number overflow"), std::string::npos) << e.what();
  }
}

TEST(Node, DurationUnits) {
  nlohmann::json j = {{"size", 3}, {"unit", "minute"}};
  EXPECT_EQ(Node(j, "/d").as_duration(), 180000);
  j = {{"size", 0}, {"unit", "ms"}};
  EXPECT_THROW(Node(j, "/d").as_duration(), ConfigError);
  EXPECT_EQ(Node(j, "/d").as_duration(true), 0);
  j = {{"size", 2}, {"unit", "day"}, {"extra", 1}};
  try {
    Node(j, "/d").as_duration();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "/d/extra");
  }
}

}  // namespace
}  // namespace weir::config
