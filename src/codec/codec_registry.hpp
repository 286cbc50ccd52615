// The built-in payload formats, by the name a pipeline's config uses for them.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "weir/codec.hpp"

namespace weir::codec {

// "json", "cbor", "senml" (SenML JSON), "senml-cbor", "text"; nullptr for any other name.
std::unique_ptr<Codec> make_codec(std::string_view format, const CodecOptions& opts);

// The names make_codec accepts, in the order above.
std::span<const std::string_view> codec_formats() noexcept;

}  // namespace weir::codec
