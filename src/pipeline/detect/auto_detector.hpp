// The "auto" method of $detect: weir's default detector, no parameters to tune. It combines
// cheap signals into one anomaly score in [0, 1] per reading and must work across series
// of very different scale, noise and period. All state is this plain object (no heap), so
// a checkpoint can copy it as it is.
//
// How it scores one reading (all constants fixed, round and scale-free):
//  1. Four predictors, each with its mean absolute error learnt online: a slow level, the
//     previous reading (random walk), a time-of-day profile (48 half-hour slots, used after
//     two days) and a week profile (168 hour slots, used after two weeks). The surprise
//     under each is |x - prediction| / that predictor's error.
//  2. The reading is as surprising as the least surprised of the good predictors (error
//     within 4x of the best): what a good model explains is normal. raw = log(1 + z).
//  3. Rarity: the share of past raw scores (and of their short mean, for sustained
//     changes) at or above this one, from decaying 32-bin histograms; score =
//     -log10(share) / 4, clamped to [0, 1].
//  4. Refractory: a score below the slowly decaying recent peak is suppressed, since NAB
//     counts only the first detection of an event and charges every false positive.
//  Statistics learn from winsorised inputs (10 deviations), so a huge value does not
//  poison them. The first 256 readings score 0.
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
  static constexpr double kThreshold = 0.36;

  // Expected band for the last reading (before it was taken in), for alerts.
  double expected_low() const noexcept { return low_; }
  double expected_high() const noexcept { return high_; }

  static constexpr int kDaySlots = 48;        // half-hours of the day
  static constexpr int kWeekSlots = 7 * 24;   // hours of the week
  static constexpr int kRawBins = 32;         // raw-score histogram

 private:
  double raw_surprise(int64_t t_ms, double x) noexcept;
  double likelihood(double raw) noexcept;
  void learn(int64_t t_ms, double x) noexcept;

  double low_ = 0.0;
  double high_ = 0.0;

  int64_t n_ = 0;           // readings seen
  int64_t t_first_ = 0;     // time of the first reading
  double prev_x_ = 0.0;     // the previous reading
  double level_ = 0.0;      // slow level (EWMA of the winsorised value)
  double level_dev_ = 0.0;  // mean absolute deviation from the level
  double step_slow_ = 0.0;  // long-term mean absolute step
  double err_level_ = 0.0;  // mean absolute error of the level as a predictor
  double err_walk_ = 0.0;   // ... of the previous reading
  double err_day_ = 0.0;    // ... of the time-of-day profile
  double err_week_ = 0.0;   // ... of the week profile

  // Likelihood of the raw score.
  double raw_short_ = 0.0;
  double peak_ = 0.0;  // refractory: decaying recent peak of the output

  float hist_raw_[kRawBins] = {};
  float hist_short_[kRawBins] = {};
  float day_mean_[kDaySlots] = {};
  float day_dev_[kDaySlots] = {};
  float week_mean_[kWeekSlots] = {};
  uint8_t day_n_[kDaySlots] = {};
  uint8_t week_n_[kWeekSlots] = {};
};

static_assert(sizeof(AutoDetector) <= 2048, "auto detector state is at most 2 KB per series");

}  // namespace weir::pipeline::detect
