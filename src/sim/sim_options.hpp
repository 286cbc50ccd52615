// The simulator's configuration, parsed once from the command line and immutable after.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weir::sim {

enum class PayloadFormat { kJson, kCbor, kSenml, kSenmlCbor };
enum class TimeMode { kWall, kSynthetic };
enum class AnomalyType { kSpike, kDip, kShift, kDrift, kFlatline, kDropout };

std::string_view to_string(AnomalyType type);

struct SimOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  std::string client_id;  // weir-sim-<pid> when not given
  uint32_t devices = 10;
  std::string device_prefix = "dev-";
  double rate = 1.0;                 // readings per second per device; 0 = unpaced
  std::optional<double> duration_s;  // run time limit, when no count is given
  std::optional<uint64_t> count;     // total readings across all devices; wins over duration
  PayloadFormat format = PayloadFormat::kJson;
  std::string topic_template = "sensors/{device}/telemetry";
  int qos = 1;
  uint32_t max_inflight = 1000;
  uint64_t seed = 1;
  TimeMode time_mode = TimeMode::kWall;
  int64_t start_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  int64_t step_ms = 1000;
  double anomaly_rate = 0.0;
  std::vector<AnomalyType> anomaly_types;  // enabled types, never empty after parsing
  double malformed_rate = 0.0;
  std::string truth_path;  // empty: no truth file
  std::string output_path;  // set: write `weir replay` input here instead of publishing
  bool stamp = false;
  bool quiet = false;
};

struct ParsedOptions {
  std::optional<SimOptions> options;  // set when the simulator should run
  int exit_code = 0;                  // otherwise: 0 after --help, 2 for bad options
};

// Parses and validates the command line; prints help or one clear error to stderr.
ParsedOptions parse_options(int argc, char** argv);

// "dev-" + 7 -> "dev-0007" (at least 4 digits).
std::string device_id(std::string_view prefix, uint32_t index);

// The topic template with every "{device}" replaced.
std::string expand_topic(std::string_view topic_template, std::string_view device);

}  // namespace weir::sim
