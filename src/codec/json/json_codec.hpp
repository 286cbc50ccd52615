// JSON payloads (simdjson On-Demand): an object is one reading, an array of objects is
// one reading per element.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weir/codec.hpp"
#include "weir/value.hpp"

namespace weir::codec {

class JsonCodec final : public Codec {
 public:
  // Objects and arrays nested deeper than this are rejected.
  static constexpr size_t kMaxDepth = 64;
  // Objects with more members are rejected: Value::set looks for an existing key first,
  // so building an object costs time quadratic in its size.
  static constexpr size_t kMaxMembers = 1024;

  JsonCodec();
  ~JsonCodec() override;
  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  std::string_view name() const noexcept override { return "json"; }
  DecodeResult decode(std::string_view payload, const DecodeContext& ctx, std::vector<Value>& out,
                      std::string& error) override;

  // Converts one JSON document of any type into out (integers that fit int64 become
  // ints, other numbers doubles). On kMalformed, out is unspecified and error says why.
  // Used by decode() and by the SenML codec.
  DecodeResult parse(std::string_view payload, Value& out, std::string& error);

 private:
  struct Parser;  // simdjson parser and padded buffer, reused across payloads
  std::unique_ptr<Parser> parser_;
};

}  // namespace weir::codec
