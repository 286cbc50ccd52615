#include "sim/number_text.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace weir::sim {
namespace {

constexpr size_t kNumberBufferSize = 32;

template <typename T>
void append_chars(std::string& out, T value) {
  std::array<char, kNumberBufferSize> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

}  // namespace

void append_double(std::string& out, double value) { append_chars(out, value); }

void append_int(std::string& out, int64_t value) { append_chars(out, value); }

void append_uint(std::string& out, uint64_t value) { append_chars(out, value); }

double round_to_hundredths(double value) {
  // n / 100.0 is the double nearest to the 2-decimal number, so its shortest text is it.
  return std::round(value * 100.0) / 100.0 + 0.0;
}

}  // namespace weir::sim
