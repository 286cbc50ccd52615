// weir run: MQTT connections feed a bounded queue; one processing thread runs the engine.
#pragma once

#include "state/sqlite/state_store.hpp"

#include <atomic>

#include "config/config.hpp"
#include "engine/run_observer.hpp"

namespace weir::engine {

// Runs until stop becomes true; returns the process exit code.
// store: the checked state database, or null without a "state" section. Its stage state
// is loaded before any connection, saved every checkpointInterval and at a clean stop.
// observer (optional) is told when weir is ready, on every pass of the processing loop,
// and when it stops.
int run_live(const config::Config& config, const std::atomic<bool>& stop,
             state::StateStore* store = nullptr, RunObserver* observer = nullptr);

}  // namespace weir::engine
