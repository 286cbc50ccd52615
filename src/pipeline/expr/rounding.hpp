// Rounding half to even at a decimal place, as MongoDB's $round does it.
#pragma once

#include <cstdint>

#include "weir/value.hpp"

namespace weir::pipeline {

// Rounds d to `place` decimal digits (negative: to tens, hundreds, ...), half to even, on
// d's decimal value to 34 significant digits, as MongoDB does through Decimal128: 2.5 -> 2,
// 19.25 -> 19.2 at place 1, and 2.675 -> 2.67 at place 2 (the double is 2.67499999...).
// NaN and infinities are returned as is; so is d when place keeps all 34 digits.
double round_half_even(double d, int place) noexcept;

// Integers are unchanged for place >= 0; for place < 0 the result is rounded half to even
// to a multiple of 10^-place, and becomes a double only when it no longer fits an int64.
Value round_half_even(int64_t v, int place) noexcept;

}  // namespace weir::pipeline
