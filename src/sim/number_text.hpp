// Numbers as text: shortest round-trip form (std::to_chars), shared by the payload and the
// truth writers so that a value in the truth file reads exactly as it did in the payload.
#pragma once

#include <cstdint>
#include <string>

namespace weir::sim {

// Appends the shortest text that reads back as exactly `value` ("20.15", "-3", "0.5").
void append_double(std::string& out, double value);
void append_int(std::string& out, int64_t value);
void append_uint(std::string& out, uint64_t value);

// Rounds to 2 decimals, so that the shortest text has at most 2 decimals; -0 becomes 0.
double round_to_hundredths(double value);

}  // namespace weir::sim
