// Encodes one reading as a payload: JSON object, CBOR map, SenML JSON or SenML CBOR.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim/sim_options.hpp"

namespace weir::sim {

struct Reading {
  std::string_view device;  // only letters, digits, '-', '_', '.' (checked by the options)
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  double temp = 0.0;  // already rounded to 2 decimals
  double hum = 0.0;
  std::optional<int64_t> sent_us;  // --stamp
};

class PayloadWriter {
 public:
  explicit PayloadWriter(PayloadFormat format) : format_(format) {}

  // Replaces the content of `out` with the encoded reading (bytes, not necessarily text).
  void write(const Reading& reading, std::string& out) const;

 private:
  PayloadFormat format_;
};

// Appends {"ts":..,"temp":..,"hum":..,"seq":..[,"sentUs":..]} to `out`; also the base of
// the malformed payloads.
void write_json_reading(const Reading& reading, std::string& out);

}  // namespace weir::sim
