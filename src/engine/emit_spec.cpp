#include "engine/emit_spec.hpp"

#include "config/config_error.hpp"

namespace weir::engine {

namespace {
constexpr OptionSpec kOptions[] = {
    {"connectionName", OptionType::kString, true, "", "the connection to publish on (mqtt or kafka)"},
    {"topic", OptionType::kString, true, "", "topic; {field} is replaced by that field of the output"},
    {"qos", OptionType::kInteger, false, "1", "publish QoS (0, 1 or 2; MQTT)"},
    {"retain", OptionType::kBoolean, false, "false", "publish retained (MQTT)"},
    {"key", OptionType::kString, false, "the output's _id",
     "Kafka message key; {field} is replaced by that field of the output"},
    {"messageExpiry", OptionType::kDuration, false, "none", "MQTT 5 message expiry"},
};
constexpr ComponentInfo kInfo{"$emit", "publishes each result of the pipeline", kOptions};

constexpr OptionSpec kMergeOptions[] = {
    {"into", OptionType::kObject, true, "", "{connectionName, table}: a sqlite connection and a table name"},
};
constexpr ComponentInfo kMergeInfo{"$merge", "writes each result to a local SQLite table, one row per output id",
                                   kMergeOptions};

constexpr OptionSpec kIntoOptions[] = {
    {"connectionName", OptionType::kString, true, "", "a connection of type sqlite"},
    {"table", OptionType::kString, true, "", "table name ([A-Za-z_][A-Za-z0-9_]*, created when missing)"},
};
constexpr ComponentInfo kIntoInfo{"into", "$merge target", kIntoOptions};

bool valid_table(const std::string& t) {
  if (t.empty() || t.size() > 64 || t.rfind("sqlite_", 0) == 0) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}
}  // namespace

const ComponentInfo& emit_info() { return kInfo; }
const ComponentInfo& merge_info() { return kMergeInfo; }

EmitSpec EmitSpec::parse(const config::Node& spec) {
  spec.check_options(kInfo);
  EmitSpec e;
  e.path = spec.path();
  e.connection = spec.at("connectionName").as_nonempty_string();
  e.topic = TopicTemplate::parse(spec.at("topic"));
  e.qos = static_cast<int>(spec.int_or("qos", 1, 0, 2));
  e.retain = spec.bool_or("retain", false);
  if (auto k = spec.get("key")) e.key = TopicTemplate::parse(*k);
  if (auto x = spec.get("messageExpiry")) {
    const TimeMs ms = x->as_duration();
    if (ms < 1000 || ms > 4294967295LL * 1000) x->fail("a duration from 1 second to 136 years");
    e.message_expiry_s = static_cast<uint32_t>(ms / 1000);
  }
  return e;
}

EmitSpec EmitSpec::parse_merge(const config::Node& spec) {
  spec.check_options(kMergeInfo);
  config::Node into = spec.at("into");
  into.expect_object();
  into.check_options(kIntoInfo);
  EmitSpec e;
  e.path = spec.path();
  e.merge = true;
  e.connection = into.at("connectionName").as_nonempty_string();
  const std::string table = into.at("table").as_nonempty_string();
  if (!valid_table(table)) {
    into.at("table").fail("a table name of letters, digits and \"_\" (not starting with a digit or \"sqlite_\", "
                          "at most 64 characters)");
  }
  e.topic = TopicTemplate::parse(into.at("table"));
  e.qos = 0;
  return e;
}

}  // namespace weir::engine
