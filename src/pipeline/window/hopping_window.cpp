#include "pipeline/window/hopping_window.hpp"

#include "pipeline/window/time_window.hpp"

namespace weir::pipeline {

namespace {

constexpr OptionSpec kOptions[] = {
    {"interval", OptionType::kDuration, true, "", "window length, e.g. {\"size\": 1, \"unit\": \"hour\"}"},
    {"hopSize", OptionType::kDuration, true, "", "how often a window starts (at most the interval)"},
    {"offset", OptionType::kDuration, false, "0", "shift of the window grid from the epoch (less than hopSize)"},
    WEIR_WINDOW_TIME_OPTIONS,
    {"pipeline", OptionType::kArray, true, "", "the window's stages: one $group"},
};
constexpr ComponentInfo kInfo{
    "$hoppingWindow",
    "windows of a fixed length starting every hopSize (overlapping); a reading updates one "
    "pane of gcd(interval, hopSize), each fired window emits one document per group",
    kOptions};

}  // namespace

const ComponentInfo& hopping_window_info() { return kInfo; }

std::unique_ptr<Operator> make_hopping_window(const config::Node& spec, const StageBuildContext& ctx) {
  spec.check_options(kInfo);
  TimeWindowOptions o;
  o.interval = spec.at("interval").as_duration();
  config::Node hop = spec.at("hopSize");
  o.hop = hop.as_duration();
  if (o.hop > o.interval) hop.fail("a hopSize no longer than the interval");
  if (auto n = spec.get("offset")) {
    o.offset = n->as_duration(true);
    if (o.offset >= o.hop) n->fail("an offset shorter than hopSize");
  }
  o.time = parse_window_time(spec, o.interval);
  o.kind = kInfo.name;
  return std::make_unique<TimeWindow>(o, parse_window_group(spec), ctx.pipeline);
}

}  // namespace weir::pipeline
