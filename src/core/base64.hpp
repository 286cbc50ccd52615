#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weir::core {

std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding optional; nullopt on a character outside it.
std::optional<std::string> base64_decode(std::string_view text);
// True when s is valid UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace weir::core
