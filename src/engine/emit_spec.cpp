#include "engine/emit_spec.hpp"

namespace weir::engine {

namespace {
constexpr OptionSpec kOptions[] = {
    {"connectionName", OptionType::kString, true, "", "the connection to publish on"},
    {"topic", OptionType::kString, true, "", "topic; {field} is replaced by that field of the output"},
    {"qos", OptionType::kInteger, false, "1", "publish QoS (0, 1 or 2)"},
    {"retain", OptionType::kBoolean, false, "false", "publish retained"},
};
constexpr ComponentInfo kInfo{"$emit", "publishes each result of the pipeline", kOptions};
}  // namespace

const ComponentInfo& emit_info() { return kInfo; }

EmitSpec EmitSpec::parse(const config::Node& spec) {
  spec.check_options(kInfo);
  EmitSpec e;
  e.connection = spec.at("connectionName").as_nonempty_string();
  e.topic = TopicTemplate::parse(spec.at("topic"));
  e.qos = static_cast<int>(spec.int_or("qos", 1, 0, 2));
  e.retain = spec.bool_or("retain", false);
  return e;
}

}  // namespace weir::engine
