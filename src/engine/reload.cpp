#include "engine/reload.hpp"

#include <map>

#include "weir/state.hpp"

namespace weir::engine {

namespace {

// One stage's entries, in memory, between the old and the new engine.
class MemoryState final : public StateWriter, public StateReader {
 public:
  void put(std::string_view key, const Value& value) override { entries_.insert_or_assign(std::string(key), value); }
  void erase(std::string_view key) override { entries_.erase(std::string(key)); }
  void for_each(const std::function<void(std::string_view, const Value&)>& visit) const override {
    for (const auto& [k, v] : entries_) visit(k, v);
  }

 private:
  std::map<std::string, Value> entries_;
};

// The JSON definitions of a pipeline's stages between $source and the last stage.
std::vector<std::string> stage_definitions(const config::Config& cfg, size_t pipeline) {
  std::vector<std::string> out;
  const config::Node stages = cfg.stages(pipeline);
  for (size_t i = 1; i + 1 < stages.size(); ++i) out.push_back(stages.at(i).json().dump());
  return out;
}

size_t pipeline_index(const config::Config& cfg, const std::string& name) {
  for (size_t i = 0; i < cfg.pipelines().size(); ++i) {
    if (cfg.pipelines()[i].name == name) return i;
  }
  return SIZE_MAX;
}

}  // namespace

std::string reload_blocker(const config::Config& running, const config::Config& next) {
  const auto& a = running.json();
  const auto& b = next.json();
  auto section = [](const config::Json& j, const char* key) { return j.contains(key) ? j.at(key) : config::Json(); };
  if (section(a, "connections") != section(b, "connections")) {
    return "the connections changed (they apply at the next start)";
  }
  if (section(a, "state") != section(b, "state")) return "the state section changed (it applies at the next start)";
  if (section(a, "metrics") != section(b, "metrics")) return "the metrics section changed (it applies at the next start)";
  if (running.engine().queue_capacity != next.engine().queue_capacity) {
    return "engine.queueCapacity changed (it applies at the next start)";
  }
  return {};
}

std::vector<std::string> transfer_state(Engine& from, const config::Config& from_cfg, Engine& to,
                                        const config::Config& to_cfg) {
  std::vector<std::string> lines;
  for (const auto& np : to.pipelines()) {
    const size_t oi = pipeline_index(from_cfg, np->name());
    PipelineRunner* op = from.pipeline(np->name());
    if (oi == SIZE_MAX || op == nullptr) {
      lines.push_back("pipeline \"" + np->name() + "\": added");
      continue;
    }
    const size_t ni = pipeline_index(to_cfg, np->name());
    const bool same = from_cfg.stages(oi).json() == to_cfg.stages(ni).json() &&
                      from_cfg.json().at("pipelines").at(oi) == to_cfg.json().at("pipelines").at(ni);
    const auto old_defs = stage_definitions(from_cfg, oi);
    const auto new_defs = stage_definitions(to_cfg, ni);
    std::vector<bool> used(old_defs.size(), false);
    std::vector<std::string> kept;
    for (size_t j = 0; j < new_defs.size() && j < np->stage_count(); ++j) {
      // The same definition at the same position first, else the first unused one.
      size_t match = SIZE_MAX;
      if (j < old_defs.size() && !used[j] && old_defs[j] == new_defs[j]) match = j;
      for (size_t k = 0; match == SIZE_MAX && k < old_defs.size(); ++k) {
        if (!used[k] && old_defs[k] == new_defs[j]) match = k;
      }
      if (match == SIZE_MAX || match >= op->stage_count()) continue;
      used[match] = true;
      MemoryState mem;
      op->stage(match).save(mem, Operator::SaveMode::kAll);
      np->stage(j).load(mem);
      kept.push_back(std::to_string(j + 1));
    }
    if (same) {
      lines.push_back("pipeline \"" + np->name() + "\": unchanged, state kept");
    } else {
      std::string list;
      for (const auto& k : kept) list += (list.empty() ? "" : ", ") + k;
      lines.push_back("pipeline \"" + np->name() + "\": changed, rebuilt; state kept for " +
                      (kept.empty() ? std::string("no stage") : "stage(s) " + list));
    }
  }
  for (const auto& op : from.pipelines()) {
    if (to.pipeline(op->name()) == nullptr) lines.push_back("pipeline \"" + op->name() + "\": removed, its state dropped");
  }
  return lines;
}

}  // namespace weir::engine
