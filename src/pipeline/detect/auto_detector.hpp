// The "auto" method of $detect: weir's default detector, no parameters to tune. It combines
// cheap signals into one anomaly score in [0, 1] per reading and must work across series
// of very different scale, noise and period. All state is this plain object (no heap), so
// a checkpoint can copy it as it is.
//
// How it scores one reading (all constants fixed, round and scale-free):
//  1. Predictors, each with its mean absolute error learnt online: a slow level, the
//     previous reading (random walk) and "same time yesterday" (a time-of-day profile of
//     288 five-minute slots, each a fast average of its recent days). The residual is taken
//     from the predictor with the smallest error; surprise z = |residual| / that error,
//     raw = log(1 + z). After a gap longer than the typical interval the random walk's
//     error is scaled by sqrt(gap / typical interval) (a walk spreads with the square root
//     of time), and it learns from steps scaled back the same way.
//  2. Likelihood (after Numenta's anomaly likelihood): the raw score and its short mean
//     (about 32 readings) are each compared with their own long-run mean and spread
//     (about 512 readings, variance floored); the Gaussian tail probability p gives the
//     score -log10(p) / 10 (1 at p = 1e-10). A third channel does the same, both ways, for
//     the log ratio of the short-term to the long-term residual spread (noise vanishing or
//     appearing). The single-reading channel counts only when the raw score beats the
//     largest raw score of the current and the previous day by a margin (log 1.35), so a
//     series whose spikes recur stops alarming on each. The score is the largest channel.
//  3. Onset only: NAB counts only the first detection of an event and charges every false
//     positive, so after a score reaches kThreshold every output is held below
//     0.9 * kThreshold (scaled, still ordered) until the likelihood has settled (p back
//     above 1e-2) and a refractory stretch has passed (576 readings or two days, whichever
//     ends first). A score at or above kThreshold is therefore always an onset.
//  Statistics learn from winsorised inputs (10 deviations), so a huge value does not
//  poison them; the level starts at the median of the first three readings, so a first
//  value that is a sentinel does not either, and a statistic that still overflows (values
//  near the double range) starts the detector over. The first readings score 0 while the
//  state fills.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace weir::pipeline::detect {

class AutoDetector {
 public:
  // One reading: t_ms its event time (non-decreasing per series; equal times allowed),
  // x a finite value. Returns the anomaly score of this reading in [0, 1], judged only on
  // what came before (no look-ahead).
  double update(int64_t t_ms, double x) noexcept;

  // The score at or above which the reading counts as anomalous (one setting for all
  // series). The onset-only rule (3 above) makes it exact: a reading scores at or above it
  // only as the onset of an event. 0.38 (p about 1e-3.8) is the NAB standard-profile
  // optimum of this detector (0.3799 on the 18-file subset).
  static constexpr double kThreshold = 0.38;

  // Expected band for the last reading (before it was taken in), for alerts.
  double expected_low() const noexcept { return low_; }
  double expected_high() const noexcept { return high_; }

  static constexpr int kDaySlots = 288;  // five-minute slots of the day

  // Running mean and variance of one signal (exponentially weighted).
  struct Moments {
    double mean = 0.0;
    double var = 0.0;
  };

 private:
  static constexpr int kSeed = 3;  // readings whose median starts the level

  double raw_surprise(int64_t t_ms, double x) noexcept;
  void learn(int64_t t_ms, double x) noexcept;
  // One seed reading: the first starts the state at `seed`, the others are judged.
  void start(int64_t t_ms, double x, double seed) noexcept;
  // Judges and learns one reading (the body of update()).
  double judge(int64_t t_ms, double x) noexcept;

  int seeded_ = 0;
  double seed_x_[kSeed] = {};
  int64_t seed_t_[kSeed] = {};

  double low_ = 0.0;
  double high_ = 0.0;

  int64_t n_ = 0;            // readings seen
  int64_t t_prev_ = 0;       // time of the previous reading
  double dt_typ_ = 0.0;      // typical interval between readings (ms, winsorised mean)
  double walk_scale_ = 1.0;  // sqrt(interval / typical interval) for this reading, >= 1
  double prev_x_ = 0.0;      // the previous reading
  double level_ = 0.0;       // slow level (EWMA of the winsorised value)
  double level_dev_ = 0.0;   // mean absolute deviation from the level
  double step_slow_ = 0.0;   // long-term mean absolute step
  double err_level_ = 0.0;   // mean absolute error of the level as a predictor
  double err_walk_ = 0.0;    // ... of the previous reading
  double err_day_ = 0.0;     // ... of the time-of-day profile
  int64_t day_seen_ = 0;     // readings the time-of-day profile has predicted

  double resid_short_ = 0.0;  // short-term mean absolute residual (best predictor)
  double resid_long_ = 0.0;   // long-term mean absolute residual
  double raw_short_ = 0.0;    // short mean of the raw surprise
  Moments raw_stats_;         // long-run moments of raw_short_
  Moments spike_stats_;       // long-run moments of the raw surprise itself
  Moments spread_stats_;      // long-run moments of log(resid_short_ / resid_long_)
  double spike_max_ = 0.0;       // largest raw surprise of the current day block
  double spike_max_prev_ = 0.0;  // ... of the previous day block
  int64_t spike_day_start_ = 0;  // time the current day block began
  int64_t quiet_ = 0;         // readings left before another onset may be reported
  int64_t quiet_until_ = 0;   // ... or the time from which it may
  bool armed_ = true;         // false from an onset until the likelihood has settled

  float day_[kDaySlots] = {};
  uint8_t day_n_[kDaySlots] = {};
};

static_assert(sizeof(AutoDetector) <= 2048, "auto detector state is at most 2 KB per series");
static_assert(std::is_trivially_copyable_v<AutoDetector>, "checkpoints copy its bytes");

}  // namespace weir::pipeline::detect
