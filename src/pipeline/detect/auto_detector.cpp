#include "pipeline/detect/auto_detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace weir::pipeline::detect {

namespace {

// Speeds of the exponential averages, as 1 / (number of readings remembered).
constexpr double kSlow = 1.0 / 512;   // level, its deviation, the long-term step
constexpr double kModel = 1.0 / 256;  // errors of the predictors
constexpr double kSlot = 1.0 / 8;     // profile slots (after their first visits)
constexpr double kShort = 1.0 / 32;   // short means (raw surprise, residual spread)
constexpr double kLong = 1.0 / 512;   // long-run moments of the likelihood channels
constexpr double kWinsor = 10.0;      // learning clips at this many deviations
constexpr double kWide = 1000.0;      // the day profile clips at this many (see learn)
constexpr double kMaxSurprise = 1e6;
constexpr double kMinVar = 2e-3;           // variance floor of the likelihood channels
constexpr double kMaxZ = 8.0;              // spread channel: clip of the standardised value
constexpr double kLogScale = 10.0;         // -log10 p mapped to score 1
constexpr double kSettled = 2.0;           // -log10 p under which an onset re-arms
constexpr int64_t kQuiet = 576;            // readings without a second onset ...
constexpr int64_t kQuietMs = 172'800'000;  // ... or two days, whichever ends first
constexpr double kSpikeMargin = 0.3;       // a spike must beat the recent maximum by this (log)
constexpr int64_t kDayWarm = 32;           // day-profile predictions judged before it is used
constexpr int64_t kWarm = 128;             // readings before the likelihood learns
constexpr int64_t kLearning = 384;         // readings scored 0 while the state fills
constexpr double kTiny = 1e-300;
constexpr double kSeedFar = 1000.0;  // seed readings this many neighbour gaps away are skipped
constexpr double kRel = 1e-9;  // errors below this share of the level are noise
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kSlotMs = kDayMs / AutoDetector::kDaySlots;

double ewma(double avg, double x, double alpha) noexcept { return avg + alpha * (x - avg); }

int day_slot(int64_t t_ms) noexcept {
  int64_t r = t_ms % kDayMs;
  if (r < 0) r += kDayMs;
  return static_cast<int>(r / kSlotMs);
}

double clip(double x, double centre, double bound) noexcept {
  return std::clamp(x, centre - bound, centre + bound);
}

// Upper-tail -log10 probability of v under the running moments m, then learn v.
double tail(AutoDetector::Moments& m, double v, double alpha) noexcept {
  const double sd = std::sqrt(std::max(m.var, kMinVar));
  const double z = (v - m.mean) / sd;
  double q = 0.0;
  if (z > 0.0) {
    const double p = 0.5 * std::erfc(z / std::sqrt(2.0));
    q = -std::log10(p + 1e-300);
  }
  // Learn from v clipped to a few deviations, so one burst does not inflate the spread.
  const double vc = std::min(v, m.mean + 4.0 * sd);
  const double d = vc - m.mean;
  m.mean += alpha * d;
  m.var = (1.0 - alpha) * (m.var + alpha * d * d);
  return q;
}

}  // namespace

double AutoDetector::raw_surprise(int64_t t_ms, double x) noexcept {
  // Residual under the predictor with the smallest mean absolute error: flat level, random
  // walk (previous reading) or time-of-day profile ("same time yesterday").
  const double floor = kRel * (std::abs(level_) + level_dev_) + kTiny;
  double err = err_level_;
  double resid = x - level_;
  if (err_walk_ * walk_scale_ < err) {
    err = err_walk_ * walk_scale_;
    resid = x - prev_x_;
  }
  const int d = day_slot(t_ms);
  if (day_n_[d] >= 1 && day_seen_ >= kDayWarm && err_day_ < err) {
    err = err_day_;
    resid = x - static_cast<double>(day_[d]);
  }
  const double z = std::min(std::abs(resid) / (err + floor), kMaxSurprise);
  // Residual spread, short and long term (winsorised like the rest).
  const double r = std::min(std::abs(resid), kWinsor * (err + floor));
  resid_short_ = ewma(resid_short_, r, kShort);
  resid_long_ = ewma(resid_long_, r, kSlow);
  return std::log1p(z);
}

void AutoDetector::learn(int64_t t_ms, double x) noexcept {
  // Winsorise: a reading far outside the usual spread moves the statistics only as far as
  // kWinsor deviations would, so a single huge value does not poison them; a lasting shift
  // is still learnt, since the deviation grows while readings keep hitting the bound.
  double bound = kWinsor * level_dev_;
  if (bound <= 0.0) bound = std::abs(level_) > 0.0 ? std::abs(level_) : HUGE_VAL;
  const double xw = bound == HUGE_VAL ? x : clip(x, level_, bound);

  const double step_bound = kWinsor * step_slow_;
  const double step = std::abs(x - prev_x_) / walk_scale_;  // per typical interval
  const double sw = step_bound > 0.0 ? std::min(step, step_bound) : std::min(step, bound);

  // Errors learn as plain means while young (one count per predictor), then exponentially.
  const double a_model = std::max(kModel, 1.0 / static_cast<double>(n_ + 1));
  err_level_ = ewma(err_level_, std::abs(xw - level_), a_model);
  err_walk_ = ewma(err_walk_, sw, a_model);
  // The profile must learn a periodic series' own swings from its first cycle, so it is
  // clipped only far out (kWide times the spread), enough to keep out absurd values.
  const double wide = kWide * (level_dev_ + std::abs(level_));
  const double xs = wide > 0.0 ? clip(x, level_, wide) : x;
  const int d = day_slot(t_ms);
  if (day_n_[d] >= 1) {
    // The day profile is judged only where it has a prediction.
    ++day_seen_;
    const double a_day = std::max(kModel, 1.0 / static_cast<double>(day_seen_));
    err_day_ = ewma(err_day_, std::min(std::abs(xs - static_cast<double>(day_[d])), bound), a_day);
  }

  level_dev_ = ewma(level_dev_, std::abs(xw - level_), kSlow);
  level_ = ewma(level_, xw, kSlow);
  step_slow_ = ewma(step_slow_, sw, kSlow);

  // Profile slot: plain mean over the first visits, then exponential.
  const double a = day_n_[d] < 2 ? 1.0 / (day_n_[d] + 1.0) : kSlot;
  day_[d] = static_cast<float>(day_n_[d] == 0 ? xs : ewma(static_cast<double>(day_[d]), xs, a));
  if (day_n_[d] < 255) ++day_n_[d];
  prev_x_ = x;
}

double AutoDetector::update(int64_t t_ms, double x) noexcept {
  if (seeded_ < kSeed) {
    // The first readings wait: the level starts at their median, so a first value that is
    // a sentinel (FLT_MAX, -9999) is learnt as the outlier it is instead of as the level.
    seed_x_[seeded_] = x;
    seed_t_[seeded_] = t_ms;
    if (++seeded_ < kSeed) {
      low_ = high_ = x;
      return 0.0;
    }
    double v[kSeed] = {seed_x_[0], seed_x_[1], seed_x_[2]};
    std::sort(v, v + kSeed);
    const double median = v[1];
    // A seed reading far from the other two (a sentinel) is not learnt at all.
    const double near = std::min(v[1] - v[0], v[2] - v[1]) + kRel * std::abs(median) + kTiny;
    for (int i = 0; i < kSeed; ++i) {
      if (std::abs(seed_x_[i] - median) > kSeedFar * near) continue;
      if (n_ == 0) {
        // The spreads start at the seeds' own gap, not at 0: from 0 the winsorised learning
        // below could only grow them by a few percent per reading.
        start(seed_t_[i], seed_x_[i], median);
        level_dev_ = std::max(level_dev_, near);
        step_slow_ = std::max(step_slow_, near);
      } else {
        start(seed_t_[i], seed_x_[i], median);
      }
    }
    return 0.0;
  }
  const double score = judge(t_ms, x);
  // Absurd input (values near the double range, alternating signs) can still overflow a
  // statistic; the detector then starts over rather than carry a NaN.
  if (!std::isfinite(level_) || !std::isfinite(level_dev_) || !std::isfinite(err_level_) ||
      !std::isfinite(err_walk_) || !std::isfinite(err_day_) || !std::isfinite(step_slow_)) {
    *this = AutoDetector{};
    return 0.0;
  }
  return std::isfinite(score) ? score : 0.0;
}

void AutoDetector::start(int64_t t_ms, double x, double seed) noexcept {
  if (n_ == 0) {
    level_ = seed;
    prev_x_ = x;
    t_prev_ = t_ms;
    spike_day_start_ = t_ms;
    low_ = high_ = seed;
    n_ = 1;
    learn(t_ms, x);
    return;
  }
  judge(t_ms, x);
}

double AutoDetector::judge(int64_t t_ms, double x) noexcept {
  // Expected band: the better of the flat level and the time-of-day profile, +- 3 of its
  // mean absolute errors (about 2.4 standard deviations of Gaussian noise).
  {
    const int d = day_slot(t_ms);
    double centre = level_;
    double spread = err_level_;
    if (day_n_[d] >= 1 && err_day_ < err_level_) {
      centre = static_cast<double>(day_[d]);
      spread = err_day_;
    }
    low_ = centre - 3.0 * spread;
    high_ = centre + 3.0 * spread;
  }
  // A random walk's spread grows with the square root of the time it has had to wander,
  // so after a gap (longer than the typical interval) the previous reading predicts less.
  {
    const double dt = static_cast<double>(t_ms) - static_cast<double>(t_prev_);
    walk_scale_ = dt_typ_ > 0.0 && dt > dt_typ_ ? std::sqrt(dt / dt_typ_) : 1.0;
    if (dt > 0.0)
      dt_typ_ = dt_typ_ == 0.0 ? dt : ewma(dt_typ_, std::min(dt, kWinsor * dt_typ_), kSlow);
    t_prev_ = t_ms;
  }
  const double raw = raw_surprise(t_ms, x);
  learn(t_ms, x);
  ++n_;

  // Likelihood channels.
  raw_short_ = ewma(raw_short_, raw, kShort);
  // Long-run moments learn as a plain mean while they have seen fewer readings than they
  // remember, so the start-up transient does not linger.
  if (n_ <= kWarm) return 0.0;
  const double a_long = std::max(kLong, 1.0 / static_cast<double>(n_ - kWarm));
  const double q_raw = tail(raw_stats_, raw_short_, a_long);
  double q_spread = 0.0;
  if (resid_long_ > 0.0) {
    const double v = std::clamp(std::log((resid_short_ + kTiny) / resid_long_), -kMaxZ, kMaxZ);
    Moments& m = spread_stats_;
    const double sd = std::sqrt(std::max(m.var, kMinVar));
    AutoDetector::Moments up = m;
    AutoDetector::Moments down{-m.mean, m.var};
    q_spread = std::max(tail(up, v, 0.0), tail(down, -v, 0.0));
    const double vc = std::clamp(v, m.mean - 4.0 * sd, m.mean + 4.0 * sd);
    const double dv = vc - m.mean;
    m.mean += a_long * dv;
    m.var = (1.0 - a_long) * (m.var + a_long * dv * dv);
  }
  // Spike channel, gated by the recent maximum: a single reading is news only if its raw
  // surprise beats the largest of the current and the previous day (raw is log(1 + z), so
  // the margin asks for a z about 35% larger). A series with recurring spikes keeps its
  // maximum high and stops alarming on each; a quiet series lets any clear spike through.
  double q_spike = tail(spike_stats_, raw, a_long);
  if (raw < std::max(spike_max_prev_, spike_max_) + kSpikeMargin) q_spike = 0.0;
  spike_max_ = std::max(spike_max_, raw);
  if (static_cast<double>(t_ms) - static_cast<double>(spike_day_start_) >= kDayMs) {
    spike_max_prev_ = spike_max_;
    spike_max_ = 0.0;
    spike_day_start_ = t_ms;
  }
  const double q = std::max({q_raw, q_spike, q_spread});
  if (n_ <= kLearning) return 0.0;

  // Onset only: after a reported onset, hold the output under the threshold until the
  // likelihood has settled and the quiet stretch is over.
  double s = std::min(1.0, q / kLogScale);
  if (quiet_ > 0) --quiet_;
  if (t_ms >= quiet_until_) quiet_ = 0;
  if (!armed_ && q < kSettled && quiet_ == 0) armed_ = true;
  // Every reading while held is scaled below 0.9 * kThreshold (still ordered), so the only
  // readings at or above kThreshold are onsets.
  if (!armed_) {
    s *= 0.9 * kThreshold;
  } else if (s >= kThreshold) {
    armed_ = false;
    quiet_ = kQuiet;
    quiet_until_ = t_ms > kNever - kQuietMs ? kNever : t_ms + kQuietMs;
  }
  return std::clamp(s, 0.0, 1.0);
}

}  // namespace weir::pipeline::detect
