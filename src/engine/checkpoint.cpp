#include "engine/checkpoint.hpp"

#include <nlohmann/json.hpp>

#include "config/node.hpp"

namespace weir::engine {

namespace {

const std::string kEnginePipeline = "#engine";
constexpr std::string_view kEngineKey = "source";

class StoreWriter final : public StateWriter {
 public:
  StoreWriter(state::StateStore& store, const std::string& pipeline, int64_t stage, CheckpointStats& stats)
      : store_(store), pipeline_(pipeline), stage_(stage), stats_(stats) {}
  void put(std::string_view key, const Value& value) override {
    text_.clear();
    value.append_json(text_);
    store_.put(pipeline_, stage_, key, text_);
    ++stats_.entries;
    stats_.bytes += key.size() + text_.size();
  }
  void erase(std::string_view key) override { store_.erase(pipeline_, stage_, key); }

 private:
  state::StateStore& store_;
  const std::string& pipeline_;
  int64_t stage_;
  CheckpointStats& stats_;
  std::string text_;
};

class StoreReader final : public StateReader {
 public:
  StoreReader(const state::StateStore& store, const std::string& pipeline, int64_t stage, uint64_t& read)
      : store_(store), pipeline_(pipeline), stage_(stage), read_(read) {}
  void for_each(const std::function<void(std::string_view key, const Value& value)>& visit) const override {
    store_.for_each(pipeline_, stage_, [&](std::string_view key, std::string_view text) {
      auto json = nlohmann::json::parse(text, nullptr, false);
      if (json.is_discarded()) return;  // not ours to judge: the stage starts that part fresh
      ++read_;
      visit(key, config::to_value(json));
    });
  }

 private:
  const state::StateStore& store_;
  const std::string& pipeline_;
  int64_t stage_;
  uint64_t& read_;
};

}  // namespace

CheckpointStats save_checkpoint(Engine& engine, state::StateStore& store, Operator::SaveMode mode,
                                const Value* engine_state) {
  CheckpointStats stats;
  store.begin();
  try {
    if (mode == Operator::SaveMode::kAll) store.clear_all();
    if (engine_state != nullptr) {
      StoreWriter w(store, kEnginePipeline, 0, stats);
      w.put(kEngineKey, *engine_state);
    }
    for (const auto& p : engine.pipelines()) {
      for (size_t i = 0; i < p->stage_count(); ++i) {
        const auto stage = static_cast<int64_t>(i + 1);  // position in the pipeline, after $source
        StoreWriter w(store, p->name(), stage, stats);
        p->stage(i).save(w, mode);
      }
    }
    // The outboxes' new and confirmed entries ride in the same transaction: the outputs in
    // the database are always those of the state in the database.
    for (auto* box : engine.router().outboxes()) box->save();
    store.commit();
  } catch (...) {
    store.rollback();
    for (auto* box : engine.router().outboxes()) box->save_failed();
    throw;
  }
  for (auto* box : engine.router().outboxes()) box->committed();
  return stats;
}

std::optional<Value> load_engine_state(const state::StateStore& store) {
  std::optional<Value> out;
  uint64_t read = 0;
  StoreReader r(store, kEnginePipeline, 0, read);
  r.for_each([&](std::string_view key, const Value& v) {
    if (key == kEngineKey) out = v;
  });
  return out;
}

uint64_t load_checkpoint(Engine& engine, const state::StateStore& store) {
  uint64_t read = 0;
  for (const auto& p : engine.pipelines()) {
    for (size_t i = 0; i < p->stage_count(); ++i) {
      StoreReader r(store, p->name(), static_cast<int64_t>(i + 1), read);
      p->stage(i).load(r);
    }
  }
  return read;
}

}  // namespace weir::engine
