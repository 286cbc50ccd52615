// Payload decoders: bytes of one MQTT message -> zero or more readings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir {

enum class DecodeResult : uint8_t { kOk, kMalformed };

struct DecodeContext {
  TimeMs now = 0;  // processing time, for formats with relative times (SenML)
};

struct CodecOptions {
  std::string value_field = "value";  // text: the field that receives the number
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::string_view name() const noexcept = 0;
  // Appends one object per reading to out. On kMalformed, out is left as it was and
  // error says what is wrong (e.g. "invalid JSON at byte 17: missing comma").
  virtual DecodeResult decode(std::string_view payload, const DecodeContext& ctx,
                              std::vector<Value>& out, std::string& error) = 0;
};

}  // namespace weir
