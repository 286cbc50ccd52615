// weir run: MQTT connections feed a bounded queue; one processing thread runs the engine.
#pragma once

#include "state/sqlite/state_store.hpp"

#include <atomic>
#include <functional>
#include <optional>

#include "config/config.hpp"
#include "engine/run_observer.hpp"

namespace weir::engine {

// Runs until stop becomes true; returns the process exit code.
// store: the checked state database, or null without a "state" section. Its stage state
// is loaded before any connection, saved every checkpointInterval and at a clean stop.
// Reloading the config while running (SIGHUP, weir reload).
struct ReloadHook {
  std::atomic<bool>* requested = nullptr;  // set by the signal handler; the loop clears it
  // Reads the config file again; nullopt (having logged why) when it is not valid.
  std::function<std::optional<config::Config>()> read;
};

// observer (optional) is told when weir is ready, on every pass of the processing loop,
// and when it stops. On a reload request the config is read again and, when valid and
// applicable without a restart, a new engine takes over with the state of every stage
// whose definition did not change (engine/reload.hpp); otherwise the running one goes on.
int run_live(const config::Config& config, const std::atomic<bool>& stop,
             state::StateStore* store = nullptr, RunObserver* observer = nullptr, ReloadHook reload = {});

}  // namespace weir::engine
