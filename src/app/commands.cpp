#include "app/commands.hpp"

#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "engine/emit_spec.hpp"
#include "engine/engine.hpp"
#include "engine/registry.hpp"
#include "engine/runner.hpp"
#include "engine/source_spec.hpp"

namespace weir::app {

namespace {

// Loads the config and builds every pipeline once (without connecting), so every error a
// stage can find is found. Prints the error and returns nullopt on failure.
std::optional<config::Config> load(const std::string& file, std::ostream& err) {
  try {
    config::Config cfg = config::Config::load_file(file);
    ManualClock clock;
    engine::Engine probe(cfg, clock);
    return cfg;
  } catch (const config::ConfigError& e) {
    err << "weir: config error: " << config::format_config_error(file, e) << "\n";
  }
  return std::nullopt;
}

void set_level(const config::Config& cfg, const std::string& override_level) {
  const std::string& lvl = override_level.empty() ? cfg.engine().log_level : override_level;
  spdlog::set_level(spdlog::level::from_str(lvl));
}

void print_component(std::ostream& out, const ComponentInfo& info) {
  out << info.name << ": " << info.description << "\n";
  for (const auto& o : info.options) {
    out << "    " << o.name << " (" << option_type_name(o.type) << (o.required ? ", required" : "")
        << (o.default_value.empty() ? "" : ", default " + std::string(o.default_value)) << "): "
        << o.description << "\n";
  }
}

}  // namespace

int cmd_check(const std::string& file, std::ostream& out, std::ostream& err) {
  auto cfg = load(file, err);
  if (!cfg) return kExitConfig;
  out << file << ": OK (" << cfg->pipelines().size() << " pipeline(s), "
      << cfg->connections().size() << " connection(s))\n";
  return kExitOk;
}

int cmd_run(const std::string& file, const std::string& log_level, const std::atomic<bool>& stop) {
  auto cfg = load(file, std::cerr);
  if (!cfg) return kExitConfig;
  set_level(*cfg, log_level);
  try {
    return engine::run_live(*cfg, stop);
  } catch (const std::exception& e) {
    spdlog::critical("weir stopped: {}", e.what());
    return kExitRuntime;
  }
}

int cmd_replay(const std::string& file, const engine::ReplayOptions& options,
               const std::string& log_level) {
  auto cfg = load(file, std::cerr);
  if (!cfg) return kExitConfig;
  // Replay keeps stderr for problems only.
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? "error" : log_level));
  engine::ReplayStats stats;
  std::string error;
  if (!engine::replay(*cfg, options, stdout, stats, error)) {
    std::cerr << "weir replay: " << error << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

int cmd_stages(std::ostream& out) {
  print_component(out, engine::source_info());
  for (const auto& s : engine::builtin_stages()) print_component(out, s.factory.info());
  print_component(out, engine::emit_info());
  return kExitOk;
}

}  // namespace weir::app
