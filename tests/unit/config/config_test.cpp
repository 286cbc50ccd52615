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
