// CBOR payloads (libcbor streaming decoder): a map is one reading, an array of maps is one
// reading per element.
//
// Conversion to Value: integers that fit int64 -> int, others -> double; half, single and
// double floats -> double; true/false -> bool; null and undefined -> null; text strings
// (UTF-8 checked) -> string; byte strings -> standard base64 string; tags are dropped and
// their content kept. Map keys must be text strings or integers (integers become their
// decimal text, e.g. -2 -> "-2"). Definite and indefinite lengths are both accepted.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weir/codec.hpp"
#include "weir/value.hpp"

namespace weir::codec {

class CborCodec final : public Codec {
 public:
  // Arrays and maps nested deeper than this are rejected.
  static constexpr size_t kMaxDepth = 64;
  // Maps with more entries are rejected: Value::set looks for an existing key first, so
  // building a map costs time quadratic in its size.
  static constexpr size_t kMaxMembers = 1024;

  CborCodec();
  ~CborCodec() override;
  CborCodec(const CborCodec&) = delete;
  CborCodec& operator=(const CborCodec&) = delete;

  std::string_view name() const noexcept override { return "cbor"; }
  DecodeResult decode(std::string_view payload, const DecodeContext& ctx, std::vector<Value>& out,
                      std::string& error) override;

  // Converts exactly one CBOR data item of any type (the whole payload) into out. On
  // kMalformed, out is unspecified and error says why. Used by decode() and by SenML.
  DecodeResult parse(std::string_view payload, Value& out, std::string& error);

 private:
  class Builder;  // the explicit stack, reused across payloads
  std::unique_ptr<Builder> builder_;
};

}  // namespace weir::codec
