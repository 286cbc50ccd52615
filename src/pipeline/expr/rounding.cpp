#include "pipeline/expr/rounding.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace weir::pipeline {

double round_half_even(double d, int place) noexcept {
  if (!std::isfinite(d) || d == 0.0) return d;
  // MongoDB converts the double to a Decimal128 of 34 significant digits and quantizes that.
  constexpr int kDigits = 34;
  // "-D.DDD...e+XX": 34 significant digits (correctly rounded) and a decimal exponent.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific, kDigits - 1);
  if (res.ec != std::errc()) return d;
  const char* p = buf;
  bool negative = *p == '-';
  if (negative) ++p;
  char digits[kDigits + 1];  // one spare in front for a carry out of the first digit
  int count = 0;
  for (; p < res.ptr && *p != 'e'; ++p) {
    if (*p >= '0' && *p <= '9' && count < kDigits) digits[1 + count++] = *p;
  }
  if (count != kDigits || p + 2 >= res.ptr) return d;  // not reached
  int exponent = 0;
  std::from_chars(p + (p[1] == '+' ? 2 : 1), res.ptr, exponent);

  // Digit i weighs 10^(exponent - i); keep those weighing at least 10^-place.
  int keep = exponent + place + 1;
  if (keep >= kDigits) return d;  // nothing to round away
  if (keep < 0) return 0.0;       // below half of the last place kept
  int first = digits[1 + keep] - '0';
  bool tail = false;
  for (int i = keep + 1; i < kDigits; ++i) tail = tail || digits[1 + i] != '0';
  bool odd = keep > 0 && (digits[keep] - '0') % 2 == 1;
  bool up = first > 5 || (first == 5 && (tail || odd));
  char* begin = digits + 1;
  char* end = digits + 1 + keep;
  if (up) {
    char* q = end;
    while (q > begin && *(q - 1) == '9') *--q = '0';
    if (q > begin) {
      ++*(q - 1);
    } else {
      *--begin = '1';  // 999 -> 1000, same scale
    }
  }
  if (begin == end) return 0.0;

  // digits[begin, end) * 10^-place, parsed back to the nearest double.
  char out[96];
  char* o = out;
  if (negative) *o++ = '-';
  for (char* q = begin; q < end; ++q) *o++ = *q;
  *o++ = 'e';
  auto exp = std::to_chars(o, out + sizeof out, -place);
  if (exp.ec != std::errc()) return d;
  double result = d;
  std::from_chars(out, exp.ptr, result);
  return result;
}

Value round_half_even(int64_t v, int place) noexcept {
  if (place >= 0 || v == 0) return Value(v);
  bool negative = v < 0;
  // |v| as unsigned: well defined for INT64_MIN too.
  uint64_t a = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (place < -19) return Value(int64_t{0});  // |v| < 9.3e18 < half of 10^20
  uint64_t m = 1;
  for (int i = 0; i < -place; ++i) m *= 10;  // at most 10^19, fits uint64
  uint64_t q = a / m;
  uint64_t r = a % m;
  if (r > m - r || (r == m - r && q % 2 == 1)) ++q;
  uint64_t mag = 0;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
  if (__builtin_mul_overflow(q, m, &mag) || mag > kMaxPositive + (negative ? 1 : 0)) {
    double d = static_cast<double>(q) * static_cast<double>(m);
    return Value(negative ? -d : d);
  }
  if (negative) return Value(mag == kMaxPositive + 1 ? INT64_MIN : -static_cast<int64_t>(mag));
  return Value(static_cast<int64_t>(mag));
}

}  // namespace weir::pipeline
