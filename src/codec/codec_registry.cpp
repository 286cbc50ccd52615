#include "codec/codec_registry.hpp"

#include <array>

#include "codec/cbor/cbor_codec.hpp"
#include "codec/json/json_codec.hpp"
#include "codec/senml/senml_codec.hpp"
#include "codec/text/text_codec.hpp"

namespace weir::codec {

namespace {
constexpr std::array<std::string_view, 5> kFormats = {"json", "cbor", "senml", "senml-cbor",
                                                      "text"};
}  // namespace

std::unique_ptr<Codec> make_codec(std::string_view format, const CodecOptions& opts) {
  if (format == "json") return std::make_unique<JsonCodec>();
  if (format == "cbor") return std::make_unique<CborCodec>();
  if (format == "senml") return std::make_unique<SenmlCodec>(SenmlCodec::Encoding::kJson);
  if (format == "senml-cbor") return std::make_unique<SenmlCodec>(SenmlCodec::Encoding::kCbor);
  if (format == "text") return std::make_unique<TextCodec>(opts);
  return nullptr;
}

std::span<const std::string_view> codec_formats() noexcept { return kFormats; }

}  // namespace weir::codec
