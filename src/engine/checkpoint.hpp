// Saving and restoring the stages' state through the state store. A checkpoint writes every
// stateful stage of every pipeline in one transaction (all or nothing); entries are the
// stages' Values as JSON text, under (pipeline name, stage position, key).
#pragma once

#include <cstdint>
#include <optional>

#include "engine/engine.hpp"
#include "state/sqlite/state_store.hpp"

namespace weir::engine {

struct CheckpointStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// Throws state::StateError when the database cannot be written (the transaction is rolled
// back: the previous checkpoint stays whole).
// kAll rewrites the whole store (the first checkpoint of a run, and after a failed one);
// kChanged writes what each stage changed since the previous checkpoint.
// engine_state (the source positions: the journal sequence number the state reflects) is
// saved in the same transaction, under the pseudo-pipeline "#engine".
CheckpointStats save_checkpoint(Engine& engine, state::StateStore& store,
                                Operator::SaveMode mode = Operator::SaveMode::kAll,
                                const Value* engine_state = nullptr);
// What save_checkpoint saved as engine_state; nullopt for a new database.
std::optional<Value> load_engine_state(const state::StateStore& store);
// Loads what the store holds into the engine's stages (built from the same config); returns
// the entries read. An entry a stage does not recognise is ignored by that stage.
uint64_t load_checkpoint(Engine& engine, const state::StateStore& store);

}  // namespace weir::engine
