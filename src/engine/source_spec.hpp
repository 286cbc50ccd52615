// $source: which connection and topic pattern feed a pipeline, how payloads decode and
// where event time comes from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/node.hpp"
#include "ingest/mqtt/topic_pattern.hpp"
#include "weir/codec.hpp"
#include "weir/component.hpp"
#include "weir/value.hpp"

namespace weir::engine {

enum class TimeUnit : uint8_t { kMs, kSecond, kMicrosecond };

struct SourceSpec {
  std::string connection;
  ingest::TopicPattern pattern;
  std::string format;
  CodecOptions codec_options;
  std::optional<FieldPath> time_field;  // none: processing time
  TimeUnit time_unit = TimeUnit::kMs;
  int qos = 1;
  size_t max_payload_bytes = 64 * 1024;
  TimeMs max_future_skew = 5 * 60 * 1000;

  // The key under which a decoded payload can be shared between pipelines.
  std::string codec_key() const { return format + "|" + codec_options.value_field; }

  static SourceSpec parse(const config::Node& spec);
};

const ComponentInfo& source_info();

}  // namespace weir::engine
