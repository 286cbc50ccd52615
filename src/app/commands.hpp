#pragma once

#include <atomic>
#include <iosfwd>
#include <string>

#include "engine/replay.hpp"

namespace weir::app {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitConfig = 2;

int cmd_check(const std::string& file, std::ostream& out, std::ostream& err);
int cmd_run(const std::string& file, const std::string& log_level, const std::atomic<bool>& stop);
int cmd_replay(const std::string& file, const engine::ReplayOptions& options, const std::string& log_level);
int cmd_stages(std::ostream& out);

}  // namespace weir::app
