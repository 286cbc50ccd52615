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
inline constexpr int kExitState = 3;  // the state database cannot be used

int cmd_check(const std::string& file, std::ostream& out, std::ostream& err);
// fresh_state: a state database that cannot be used is kept aside and a new one started.
// reload is set by SIGHUP: the config file is read again and applied while running.
// pid_file ("" : <state path>.pid when there is a state section) receives weir's pid.
int cmd_run(const std::string& file, const std::string& log_level, bool fresh_state,
            const std::atomic<bool>& stop, std::atomic<bool>* reload = nullptr, const std::string& pid_file = "");
// Checks the config file, then asks the running weir (by its pid file) to reload it.
int cmd_reload(const std::string& file, const std::string& pid_file, std::ostream& out, std::ostream& err);
int cmd_replay(const std::string& file, const engine::ReplayOptions& options, const std::string& log_level);
int cmd_stages(std::ostream& out);
// Prints what a state database holds without starting the engine: the database of the
// config's "state" section, or db_path when given.
int cmd_state(const std::string& config_file, const std::string& db_path, std::ostream& out,
              std::ostream& err);

}  // namespace weir::app
