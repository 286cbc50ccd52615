#include "pipeline/detect/alert_state.hpp"

namespace weir::pipeline::detect {

AlertStep AlertState::observe(const AlertPolicy& policy, TimeMs t, bool anomalous) noexcept {
  if (anomalous) {
    normal_run = 0;
    if (active) return AlertStep::kNone;
    ++anomalous_run;
    if (anomalous_run < policy.raise_after) return AlertStep::kNone;
    if (cleared_at != kMinTime && t - cleared_at < policy.cooldown) return AlertStep::kNone;
    anomalous_run = 0;
    active = true;
    raised_at = t;
    return AlertStep::kRaise;
  }
  anomalous_run = 0;
  if (!active) return AlertStep::kNone;
  if (normal_run++ == 0) normal_since = t;
  const bool done = policy.clear_for > 0 ? t - normal_since >= policy.clear_for
                                         : normal_run >= policy.clear_after;
  if (!done) return AlertStep::kNone;
  active = false;
  normal_run = 0;
  cleared_at = t;
  return AlertStep::kClear;
}

}  // namespace weir::pipeline::detect
