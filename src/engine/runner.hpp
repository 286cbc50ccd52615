// weir run: MQTT connections feed a bounded queue; one processing thread runs the engine.
#pragma once

#include <atomic>

#include "config/config.hpp"

namespace weir::engine {

// Runs until stop becomes true; returns the process exit code.
int run_live(const config::Config& config, const std::atomic<bool>& stop);

}  // namespace weir::engine
