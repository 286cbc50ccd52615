#include "sim/sim_options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <map>
#include <utility>

namespace weir::sim {
namespace {

constexpr int kExitBadOptions = 2;
constexpr uint32_t kMaxDevices = 100000;
constexpr int kDeviceDigits = 4;

constexpr std::array<std::pair<std::string_view, AnomalyType>, 6> kAnomalyNames{{
    {"spike", AnomalyType::kSpike},
    {"dip", AnomalyType::kDip},
    {"shift", AnomalyType::kShift},
    {"drift", AnomalyType::kDrift},
    {"flatline", AnomalyType::kFlatline},
    {"dropout", AnomalyType::kDropout},
}};

// Device ids go into topics, URNs and the unquoted truth CSV: keep them to safe characters.
bool is_safe_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::optional<std::vector<AnomalyType>> parse_anomaly_types(std::string_view list,
                                                            std::string& error) {
  std::vector<AnomalyType> types;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view name = list.substr(begin, end - begin);
    bool found = false;
    for (const auto& [known, type] : kAnomalyNames) {
      if (name == known) {
        found = true;
        bool seen = false;
        for (AnomalyType t : types) seen = seen || t == type;
        if (!seen) types.push_back(type);
      }
    }
    if (name == "all") {
      found = true;
      for (const auto& [known, type] : kAnomalyNames) {
        bool seen = false;
        for (AnomalyType t : types) seen = seen || t == type;
        if (!seen) types.push_back(type);
      }
    }
    if (!found) {
      error = "--anomaly-types: unknown type '" + std::string(name) +
              "' (expected a comma list of spike,dip,shift,drift,flatline,dropout)";
      return std::nullopt;
    }
    begin = end + 1;
  }
  return types;
}

// Checks what CLI11's validators do not; returns an empty string when all is well.
std::string validate(const SimOptions& o) {
  if (o.port == 0) return "--port: must be 1..65535";
  if (o.host.empty()) return "--host: must not be empty";
  if (o.client_id.empty()) return "--client-id: must not be empty";
  if (o.devices == 0 || o.devices > kMaxDevices) {
    return "--devices: must be 1.." + std::to_string(kMaxDevices);
  }
  for (char c : o.device_prefix) {
    if (!is_safe_id_char(c)) return "--device-prefix: only letters, digits, '-', '_' and '.'";
  }
  if (!(o.rate >= 0.0)) return "--rate: must be >= 0";
  if (o.duration_s && !(*o.duration_s > 0.0)) return "--duration: must be > 0";
  if (o.count && *o.count == 0) return "--count: must be > 0";
  if (o.topic_template.empty()) return "--topic: must not be empty";
  if (o.topic_template.find_first_of("#+") != std::string::npos) {
    return "--topic: must not contain the wildcards '#' or '+'";
  }
  if (o.max_inflight == 0) return "--max-inflight: must be >= 1";
  if (o.step_ms <= 0) return "--step-ms: must be >= 1";
  if (o.start_ms < 0) return "--start-ms: must be >= 0";
  if (!(o.anomaly_rate >= 0.0 && o.anomaly_rate <= 1.0)) return "--anomaly-rate: must be 0..1";
  if (!(o.malformed_rate >= 0.0 && o.malformed_rate <= 1.0)) return "--malformed: must be 0..1";
  if (!o.output_path.empty()) {
    if (o.time_mode != TimeMode::kSynthetic) return "--output: needs --time-mode synthetic";
    if (!o.count) return "--output: needs --count";
    if (o.stamp) return "--output: --stamp only makes sense when publishing";
  }
  return {};
}

}  // namespace

std::string_view to_string(AnomalyType type) {
  for (const auto& [name, known] : kAnomalyNames) {
    if (known == type) return name;
  }
  return "unknown";
}

std::string device_id(std::string_view prefix, uint32_t index) {
  std::string digits = std::to_string(index);
  std::string id(prefix);
  if (digits.size() < kDeviceDigits) id.append(kDeviceDigits - digits.size(), '0');
  id += digits;
  return id;
}

std::string expand_topic(std::string_view topic_template, std::string_view device) {
  constexpr std::string_view kPlaceholder = "{device}";
  std::string topic;
  size_t begin = 0;
  while (true) {
    const size_t at = topic_template.find(kPlaceholder, begin);
    if (at == std::string_view::npos) break;
    topic.append(topic_template.substr(begin, at - begin));
    topic.append(device);
    begin = at + kPlaceholder.size();
  }
  topic.append(topic_template.substr(begin));
  return topic;
}

ParsedOptions parse_options(int argc, char** argv) {
  SimOptions o;
  o.client_id = "weir-sim-" + std::to_string(getpid());
  double duration_s = 0.0;
  uint64_t count = 0;
  std::string anomaly_types = "all";

  CLI::App app{"weir-sim: publishes simulated sensor readings over MQTT", "weir-sim"};
  app.add_option("--host", o.host, "Broker host")->capture_default_str();
  app.add_option("--port", o.port, "Broker port")->capture_default_str();
  app.add_option("--client-id", o.client_id, "MQTT client id (default weir-sim-<pid>)");
  app.add_option("--devices", o.devices, "Number of devices")->capture_default_str();
  app.add_option("--device-prefix", o.device_prefix, "Device id prefix (ids: <prefix>0001..)")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Readings per second per device (0 = as fast as possible)")
      ->capture_default_str();
  CLI::Option* duration_opt =
      app.add_option("--duration", duration_s, "Run for this many seconds (unless --count)");
  CLI::Option* count_opt =
      app.add_option("--count", count, "Stop after this many readings across all devices");
  std::string format = "json";
  app.add_option("--format", format, "Payload format")
      ->check(CLI::IsMember({"json", "cbor", "senml", "senml-cbor"}))
      ->capture_default_str();
  app.add_option("--topic", o.topic_template, "Topic template; {device} is replaced")
      ->capture_default_str();
  app.add_option("--qos", o.qos, "QoS 0 or 1")->check(CLI::IsMember({0, 1}))->capture_default_str();
  app.add_option("--max-inflight", o.max_inflight, "Most publishes awaiting completion")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed (device i uses seed + i)")->capture_default_str();
  std::string time_mode = "wall";
  app.add_option("--time-mode", time_mode, "Timestamps: wall clock or start-ms + k * step-ms")
      ->check(CLI::IsMember({"wall", "synthetic"}))
      ->capture_default_str();
  app.add_option("--start-ms", o.start_ms, "Synthetic time of round 0, epoch ms")
      ->capture_default_str();
  app.add_option("--step-ms", o.step_ms, "Synthetic time between a device's readings, ms")
      ->capture_default_str();
  app.add_option("--anomaly-rate", o.anomaly_rate,
                 "Per-reading probability that an anomaly episode starts")
      ->capture_default_str();
  app.add_option("--anomaly-types", anomaly_types,
                 "Comma list of spike,dip,shift,drift,flatline,dropout, or all")
      ->capture_default_str();
  app.add_option("--malformed", o.malformed_rate,
                 "Per-reading probability of also sending a malformed payload")
      ->capture_default_str();
  app.add_option("--truth", o.truth_path, "Write the ground truth CSV to this file");
  app.add_option("--output", o.output_path,
                 "Write `weir replay` input (NDJSON) to this file ('-': stdout) instead of "
                 "publishing; unpaced, needs --time-mode synthetic and --count");
  app.add_flag("--stamp", o.stamp, "Add \"sentUs\" (wall-clock epoch us at publish)");
  app.add_flag("--quiet", o.quiet, "Print nothing but errors");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return {std::nullopt, kExitBadOptions};
  }

  const std::map<std::string, PayloadFormat> formats{{"json", PayloadFormat::kJson},
                                                     {"cbor", PayloadFormat::kCbor},
                                                     {"senml", PayloadFormat::kSenml},
                                                     {"senml-cbor", PayloadFormat::kSenmlCbor}};
  o.format = formats.at(format);
  o.time_mode = time_mode == "synthetic" ? TimeMode::kSynthetic : TimeMode::kWall;
  if (count_opt->count() > 0) {
    o.count = count;
  } else if (duration_opt->count() > 0) {
    o.duration_s = duration_s;
  }
  std::string error;
  auto types = parse_anomaly_types(anomaly_types, error);
  if (!types) {
    std::fprintf(stderr, "weir-sim: %s\n", error.c_str());
    return {std::nullopt, kExitBadOptions};
  }
  o.anomaly_types = std::move(*types);
  error = validate(o);
  if (!error.empty()) {
    std::fprintf(stderr, "weir-sim: %s\n", error.c_str());
    return {std::nullopt, kExitBadOptions};
  }
  return {std::move(o), 0};
}

}  // namespace weir::sim
