// Plain-number payloads ("21.5", " -3\n"): one reading {<value_field>: number}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "weir/codec.hpp"
#include "weir/value.hpp"

namespace weir::codec {

class TextCodec final : public Codec {
 public:
  explicit TextCodec(const CodecOptions& opts);

  std::string_view name() const noexcept override { return "text"; }
  // Surrounding ASCII whitespace is allowed. Integral text that fits int64 becomes an
  // int, any other decimal number (e.g. "1e3", "-0.5") a double; "nan", "inf", hex,
  // empty text and trailing characters are malformed.
  DecodeResult decode(std::string_view payload, const DecodeContext& ctx, std::vector<Value>& out,
                      std::string& error) override;

 private:
  const std::string value_field_;
};

}  // namespace weir::codec
