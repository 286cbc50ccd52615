// 64-bit FNV-1a over fields, for the ids weir derives from content (window output ids,
// alert ids, the journal's recognition of redeliveries). Not for anything adversarial.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace weir::core {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

// FNV-1a of s continued from h, then the byte 0xff (never in UTF-8 text) as a separator,
// so ("ab", "c") and ("a", "bc") differ.
inline uint64_t fnv1a(uint64_t h, std::string_view s) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;
  h *= 0x100000001b3ULL;
  return h;
}

// 16 lowercase hex digits.
inline std::string hex16(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 16);
}

}  // namespace weir::core
