// The last stage of a pipeline: where its results go.
// $emit publishes them to an MQTT or Kafka connection; "{field}" in the topic (and in the
// Kafka key) is replaced by that field of the output document.
// $merge writes them to a table of a local SQLite database, one row per output id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/emit/topic_template.hpp"
#include "weir/component.hpp"
#include "weir/value.hpp"

namespace weir::engine {

using pipeline::TopicTemplate;

struct EmitSpec {
  std::string connection;
  TopicTemplate topic;
  int qos = 1;
  bool retain = false;
  // The message key (Kafka); absent: the output's "_id" (the group key).
  std::optional<TopicTemplate> key;
  uint32_t message_expiry_s = 0;  // MQTT 5 message expiry (0: none)
  bool merge = false;             // $merge: topic is the table
  std::string path;               // JSON pointer of the stage's options
  static EmitSpec parse(const config::Node& spec);
  static EmitSpec parse_merge(const config::Node& spec);
};

const ComponentInfo& emit_info();
const ComponentInfo& merge_info();

}  // namespace weir::engine
