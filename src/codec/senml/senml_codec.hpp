// SenML packs (RFC 8428), JSON ("senml") or CBOR ("senml-cbor"): one reading per record,
// resolved per RFC 8428 section 4.6 (base fields carried forward, relative times made
// absolute against DecodeContext::now).
//
// A reading is an object with, in this order:
//   "name"       string  bn + n, checked against the RFC 8428 name rules
//   "unit"       string  u, else bu (absent when neither)
//   one of "value" (number, bv + v; an int when both are ints and the sum fits),
//          "stringValue" (vs), "boolValue" (vb), "dataValue" (vd as standard base64 with
//          padding, whichever alphabet the JSON pack used; CBOR byte strings likewise)
//   "sum"        number  bs + s (absent when the record has no s)
//   "time"       int     epoch milliseconds, rounded to the nearest ms; (bt + t) seconds,
//                        taken as relative to now when below 2^28
//   "updateTime" number  ut in seconds, as given (absent when no ut)
// Any bad record (or a bver above 10, or an empty pack) makes the whole pack malformed;
// the error names the 0-based record index: "SenML record 2: no value (v, vs, vb, vd or s)".
// Labels ending in '_' (must-understand extensions) are rejected; other unknown labels
// are ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/cbor/cbor_codec.hpp"
#include "codec/json/json_codec.hpp"
#include "weir/codec.hpp"
#include "weir/value.hpp"

namespace weir::codec {

class SenmlCodec final : public Codec {
 public:
  enum class Encoding : uint8_t { kJson, kCbor };
  // The newest SenML version (bver) this decoder understands.
  static constexpr int64_t kMaxVersion = 10;

  explicit SenmlCodec(Encoding encoding);
  ~SenmlCodec() override;
  SenmlCodec(const SenmlCodec&) = delete;
  SenmlCodec& operator=(const SenmlCodec&) = delete;

  std::string_view name() const noexcept override;
  DecodeResult decode(std::string_view payload, const DecodeContext& ctx, std::vector<Value>& out,
                      std::string& error) override;

 private:
  const Encoding encoding_;
  std::unique_ptr<JsonCodec> json_;  // set for kJson
  std::unique_ptr<CborCodec> cbor_;  // set for kCbor
};

}  // namespace weir::codec
