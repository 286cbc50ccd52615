// What flows through weir: raw messages from a source, and decoded records.
#pragma once

#include <cstdint>
#include <string>

#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir {

// A message as a source received it, before decoding.
struct Message {
  uint32_t connection = 0;  // index of the connection it came from
  std::string topic;
  std::string payload;
  TimeMs received = 0;  // processing time at receipt
  int qos = 0;
  uint32_t mid = 0;           // MQTT packet id (QoS 1/2)
  uint32_t since_connect = 0;  // messages the connection received since it last connected
  uint64_t seq = 0;           // journal sequence number (0: not journaled)
};

// One reading (or a derived result) on its way through a pipeline.
struct Record {
  Value doc;                        // always an object
  TimeMs event_time = 0;            // event time (or processing time without a timeField)
  TimeMs processing_time = 0;       // when the engine handled it
  const Message* origin = nullptr;  // raw message, for the dead-letter topic; null for results
};

}  // namespace weir
