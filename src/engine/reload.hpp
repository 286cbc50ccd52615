// Reloading the config of a running weir: the new engine takes the state of the stages
// whose definition did not change. A pipeline with the same name keeps, stage by stage,
// the state of every stage whose JSON definition is the same as before (so an unchanged
// pipeline keeps all of it; a changed one keeps its windows where the window and $group
// did not change); added pipelines start empty, removed ones are dropped.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/engine.hpp"

namespace weir::engine {

// Why a new config cannot be applied to a running weir without a restart ("" when it can):
// the connections, the state database and the engine's queue are fixed for the process.
std::string reload_blocker(const config::Config& running, const config::Config& next);

// Moves stage state from `from` (built from from_cfg) into `to` (built from to_cfg);
// returns one line per pipeline saying what happened.
std::vector<std::string> transfer_state(Engine& from, const config::Config& from_cfg, Engine& to,
                                        const config::Config& to_cfg);

}  // namespace weir::engine
