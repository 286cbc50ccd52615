// Malformed payloads sent after some readings, to exercise a consumer's error paths. They
// are JSON-ish whatever the --format, so for CBOR and SenML formats they are invalid too.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "sim/payload_writer.hpp"

namespace weir::sim {

enum class MalformedKind { kTruncated, kGarbage, kMissingTs, kBadTs, kNotObject };

std::string_view to_string(MalformedKind kind);

class MalformedWriter {
 public:
  explicit MalformedWriter(uint64_t seed) : rng_(seed) {}

  // The kind that the next write() produces; kinds take turns.
  MalformedKind next_kind() const { return next_kind_; }

  // Replaces `out` with a malformed payload based on `reading` and moves to the next kind.
  void write(const Reading& reading, std::string& out);

 private:
  std::mt19937_64 rng_;
  MalformedKind next_kind_ = MalformedKind::kTruncated;
};

}  // namespace weir::sim
