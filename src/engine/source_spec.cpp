#include "engine/source_spec.hpp"

#include "codec/codec_registry.hpp"

namespace weir::engine {

namespace {
constexpr OptionSpec kOptions[] = {
    {"connectionName", OptionType::kString, true, "", "the connection to subscribe on"},
    {"topic", OptionType::kString, true, "", "topic pattern; \"+name\"/\"#name\" put the matched level(s) in field name"},
    {"format", OptionType::kString, false, "json", "payload format: json, cbor, senml, senml-cbor, text"},
    {"timeField", OptionType::kString, false, "none (senml: time)", "field holding the event time (epoch number or ISO 8601 string); without it, processing time"},
    {"timeUnit", OptionType::kString, false, "ms", "unit of a numeric timeField: ms, second, us"},
    {"valueField", OptionType::kString, false, "value", "text format: the field that receives the number"},
    {"qos", OptionType::kInteger, false, "1", "subscription QoS (0, 1 or 2)"},
    {"maxPayloadBytes", OptionType::kInteger, false, "65536", "larger payloads go to the dead-letter topic"},
    {"maxFutureSkew", OptionType::kDuration, false, "5 minutes", "readings further ahead of processing time go to the dead-letter topic (future_time)"},
};
constexpr ComponentInfo kInfo{"$source", "where a pipeline's readings come from", kOptions};
}  // namespace

const ComponentInfo& source_info() { return kInfo; }

SourceSpec SourceSpec::parse(const config::Node& spec) {
  spec.check_options(kInfo);
  SourceSpec s;
  s.connection = spec.at("connectionName").as_nonempty_string();
  config::Node topic = spec.at("topic");
  std::string error;
  auto pattern = ingest::TopicPattern::parse(topic.as_nonempty_string(), error);
  if (!pattern) topic.fail("a valid MQTT topic pattern (" + error + ")");
  s.pattern = std::move(*pattern);
  if (auto f = spec.get("format")) {
    s.format = f->as_enum({"json", "cbor", "senml", "senml-cbor", "text"});
  } else {
    s.format = "json";
  }
  if (auto v = spec.get("valueField")) s.codec_options.value_field = v->as_nonempty_string();
  if (auto t = spec.get("timeField")) {
    s.time_field = FieldPath(t->as_nonempty_string());
  } else if (s.format == "senml" || s.format == "senml-cbor") {
    s.time_field = FieldPath("time");
  }
  if (auto u = spec.get("timeUnit")) {
    std::string unit = u->as_enum({"ms", "second", "us"});
    s.time_unit = unit == "ms" ? TimeUnit::kMs : unit == "second" ? TimeUnit::kSecond
                                                                 : TimeUnit::kMicrosecond;
  }
  s.qos = static_cast<int>(spec.int_or("qos", 1, 0, 2));
  s.max_payload_bytes =
      static_cast<size_t>(spec.int_or("maxPayloadBytes", 64 * 1024, 1, 256 * 1024 * 1024));
  if (auto f = spec.get("maxFutureSkew")) s.max_future_skew = f->as_duration(true);
  return s;
}

}  // namespace weir::engine
