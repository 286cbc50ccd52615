#include "pipeline/window/tumbling_window.hpp"

#include "pipeline/window/time_window.hpp"

namespace weir::pipeline {

namespace {

constexpr OptionSpec kOptions[] = {
    {"interval", OptionType::kDuration, true, "", "window length, e.g. {\"size\": 10, \"unit\": \"second\"}"},
    {"offset", OptionType::kDuration, false, "0", "shift of the window grid from the epoch (e.g. local midnight)"},
    WEIR_WINDOW_TIME_OPTIONS,
    {"pipeline", OptionType::kArray, true, "", "the window's stages: one $group"},
};
constexpr ComponentInfo kInfo{
    "$tumblingWindow",
    "fixed, non-overlapping windows; each fired window emits one document per group",
    kOptions};

}  // namespace

const ComponentInfo& tumbling_window_info() { return kInfo; }

std::unique_ptr<Operator> make_tumbling_window(const config::Node& spec, const StageBuildContext& ctx) {
  spec.check_options(kInfo);
  TimeWindowOptions o;
  o.interval = spec.at("interval").as_duration();
  o.hop = o.interval;
  if (auto n = spec.get("offset")) {
    o.offset = n->as_duration(true);
    if (o.offset >= o.interval) n->fail("an offset shorter than the interval");
  }
  o.time = parse_window_time(spec, o.interval);
  o.kind = kInfo.name;
  return std::make_unique<TimeWindow>(o, parse_window_group(spec), ctx.pipeline);
}

}  // namespace weir::pipeline
