// weir-sim: publishes simulated sensor readings over MQTT. See sim_options.cpp for options.
// Exit codes: 0 done (also after SIGINT/SIGTERM), 1 connection or publish failure,
// 2 bad options.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <utility>

#include "sim/sim_options.hpp"
#include "sim/simulator.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitConnection = 1;
constexpr int kExitBadOptions = 2;

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int /*signal*/) {
  g_stop_requested.store(true, std::memory_order_relaxed);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  weir::sim::ParsedOptions parsed = weir::sim::parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const bool quiet = parsed.options->quiet;

  install_signal_handlers();
  weir::sim::Simulator simulator(std::move(*parsed.options), g_stop_requested);
  const weir::sim::RunOutcome outcome = simulator.run();
  const weir::sim::RunSummary& s = simulator.summary();

  if (outcome != weir::sim::RunOutcome::kCompleted) {
    std::fprintf(stderr, "weir-sim: %s\n", simulator.error().c_str());
  }
  if (!quiet && outcome != weir::sim::RunOutcome::kBadTruthFile &&
      outcome != weir::sim::RunOutcome::kConnectFailed) {
    const double rate =
        s.elapsed_s > 0.0 ? static_cast<double>(s.readings + s.malformed) / s.elapsed_s : 0.0;
    std::fprintf(stderr,
                 "weir-sim: sent %llu readings (+%llu malformed) from %u devices in %.3f s "
                 "(%.0f msg/s)\n",
                 static_cast<unsigned long long>(s.readings),
                 static_cast<unsigned long long>(s.malformed), s.devices, s.elapsed_s, rate);
  }
  switch (outcome) {
    case weir::sim::RunOutcome::kCompleted:
      return kExitOk;
    case weir::sim::RunOutcome::kBadTruthFile:
      return kExitBadOptions;
    case weir::sim::RunOutcome::kConnectFailed:
    case weir::sim::RunOutcome::kPublishFailed:
    case weir::sim::RunOutcome::kTruthFailed:
      return kExitConnection;
  }
  return kExitConnection;
}
