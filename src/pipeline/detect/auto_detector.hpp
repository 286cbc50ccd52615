// The "auto" method of $detect: weir's default detector, no parameters to tune. It combines
// cheap signals into one anomaly score in [0, 1] per reading and must work across series
// of very different scale, noise and period. All state is this plain object (no heap), so
// a checkpoint can copy it as it is.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weir::pipeline::detect {

class AutoDetector {
 public:
  // One reading: t_ms its event time (non-decreasing per series; equal times allowed),
  // x a finite value. Returns the anomaly score of this reading in [0, 1], judged only on
  // what came before (no look-ahead).
  double update(int64_t t_ms, double x) noexcept;

  // The score at or above which the reading counts as anomalous (one setting for all
  // series; chosen on the NAB standard profile, see bench/README.md).
  static constexpr double kThreshold = 0.5;

  // Expected band for the last reading (before it was taken in), for alerts.
  double expected_low() const noexcept { return low_; }
  double expected_high() const noexcept { return high_; }

 private:
  double low_ = 0.0;
  double high_ = 0.0;
};

static_assert(sizeof(AutoDetector) <= 2048, "auto detector state is at most 2 KB per series");

}  // namespace weir::pipeline::detect
