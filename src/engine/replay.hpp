// weir replay: the configured pipelines over a recorded file instead of a broker. Every
// output (emits and dead letters) is written as one NDJSON line; the same input always
// gives the same output, byte for byte.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config.hpp"

namespace weir::engine {

struct ReplayOptions {
  std::string input;      // file path, "-" for stdin
  std::string csv_topic;  // for CSV input: the topic every row is published on
  int64_t start_time = 0; // processing time before the first line that gives one
};

struct ReplayStats {
  uint64_t lines = 0;
  uint64_t messages = 0;
  uint64_t bad_lines = 0;
};

// Returns false with error when the input cannot be read at all. Bad lines are reported on
// stderr (line number and reason) and skipped.
bool replay(const config::Config& config, const ReplayOptions& options, std::FILE* out,
            ReplayStats& stats, std::string& error);

}  // namespace weir::engine
