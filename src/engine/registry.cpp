#include "engine/registry.hpp"

#include "pipeline/detect/detect_stage.hpp"
#include "pipeline/match/match_stage.hpp"
#include "pipeline/project/add_fields_stage.hpp"
#include "pipeline/project/project_stage.hpp"
#include "pipeline/validate/validate_stage.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/session_window.hpp"
#include "pipeline/window/tumbling_window.hpp"

namespace weir::engine {

namespace {
using namespace weir::pipeline;
constexpr RegisteredStage kStages[] = {
    {"$validate", {&validate_info, &make_validate}},
    {"$match", {&match_info, &make_match}},
    {"$addFields", {&add_fields_info, &make_add_fields}},
    {"$set", {&set_info, &make_add_fields}},
    {"$project", {&project_info, &make_project}},
    {"$tumblingWindow", {&tumbling_window_info, &make_tumbling_window}},
    {"$hoppingWindow", {&hopping_window_info, &make_hopping_window}},
    {"$sessionWindow", {&session_window_info, &make_session_window}},
    {"$detect", {&detect::detect_info, &detect::make_detect}},
};
}  // namespace

std::span<const RegisteredStage> builtin_stages() { return kStages; }

const RegisteredStage* find_stage(std::string_view name) {
  for (const auto& s : kStages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace weir::engine
