// weir: the command line (run, check, replay, stages).
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/service.hpp"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
extern "C" void on_signal(int) { g_stop.store(true); }
extern "C" void on_hangup(int) { g_reload.store(true); }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weir: a stream processor for IoT gateways (MQTT in, pipelines, MQTT out)"};
  app.set_version_flag("--version", std::string("weir ") + WEIR_VERSION);
  app.require_subcommand(1);
  std::string log_level;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (overrides the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  std::string config_file;
  auto* run = app.add_subcommand("run", "run the pipelines of a config against its brokers");
  run->add_option("-c,--config", config_file, "config file")->required();
  bool fresh_state = false;
  run->add_flag("--fresh-state", fresh_state,
                "if the state database cannot be used, keep it aside and start a new one");
  std::string pid_file;
  run->add_option("--pid-file", pid_file, "write the pid here (default: <state path>.pid)");

  auto* reload = app.add_subcommand("reload", "check a config, then make the running weir reload it (SIGHUP)");
  reload->add_option("-c,--config", config_file, "config file")->required();
  reload->add_option("--pid-file", pid_file, "the running weir's pid file (default: <state path>.pid)");

  auto* check = app.add_subcommand("check", "check a config file and exit (0: valid, 2: invalid)");
  check->add_option("-c,--config", config_file, "config file")->required();

  weir::engine::ReplayOptions replay_options;
  auto* replay = app.add_subcommand("replay", "run the pipelines over a recorded file; outputs as NDJSON on stdout");
  replay->add_option("-c,--config", config_file, "config file")->required();
  replay->add_option("-i,--input", replay_options.input,
                     "NDJSON lines {\"topic\", \"payload\"[, \"encoding\": \"base64\"][, \"time\"]}, or a CSV file with a header; - for stdin")
      ->required();
  replay->add_option("--topic", replay_options.csv_topic, "CSV input: the topic of every row");
  replay->add_option("--start-time", replay_options.start_time,
                     "processing time (epoch ms) before the first line that gives one")
      ->check(CLI::Range(int64_t{-62135596800000}, int64_t{253402300799999}));

  auto* stages = app.add_subcommand("stages", "list the stages and their options");

  std::string state_db;
  auto* state = app.add_subcommand("state", "print what a state database holds, without starting the engine");
  auto* state_config = state->add_option("-c,--config", config_file, "config file (its \"state\" path)");
  state->add_option("--db", state_db, "the state database file itself")->excludes(state_config);
  state->require_option(1);

  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("weir");
  spdlog::set_default_logger(logger);
  weir::app::configure_logging();

  if (*stages) return weir::app::cmd_stages(std::cout);
  if (*state) return weir::app::cmd_state(config_file, state_db, std::cout, std::cerr);
  if (*check) return weir::app::cmd_check(config_file, std::cout, std::cerr);
  if (*reload) return weir::app::cmd_reload(config_file, pid_file, std::cout, std::cerr);
  if (*replay) return weir::app::cmd_replay(config_file, replay_options, log_level);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGHUP, on_hangup);
  return weir::app::cmd_run(config_file, log_level, fresh_state, g_stop, &g_reload, pid_file);
}
