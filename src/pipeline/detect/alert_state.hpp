// Raise and clear: turns one method's verdicts on one series into alert transitions
// (raiseAfter anomalous readings raise, clearAfter normal readings or a normal duration
// clear, cooldown after a clear). Plain state, saved with the detector.
#pragma once

#include <cstdint>

#include "pipeline/detect/detector_method.hpp"
#include "weir/time.hpp"

namespace weir::pipeline::detect {

enum class AlertStep : uint8_t { kNone, kRaise, kClear };

struct AlertState {
  bool active = false;
  bool published = false;       // the raise got past the rate limit (so its clear is sent)
  bool refused = false;         // the raise was held back by the rate limit (counted once)
  uint32_t anomalous_run = 0;   // consecutive anomalous readings while not active
  uint32_t normal_run = 0;      // consecutive normal readings while active
  TimeMs normal_since = 0;      // event time of the first of them
  TimeMs raised_at = 0;         // event time of the reading that raised it
  TimeMs cleared_at = kMinTime; // event time of the last clear (cooldown)
  double raised_value = 0.0;    // the reading that raised it, for the state topic

  // One judged reading at event time t.
  AlertStep observe(const AlertPolicy& policy, TimeMs t, bool anomalous) noexcept;
};

}  // namespace weir::pipeline::detect
