#include "pipeline/detect/auto_detector.hpp"

#include <algorithm>
#include <cmath>

namespace weir::pipeline::detect {

namespace {

// Speeds of the exponential averages, as 1 / (number of readings remembered).
constexpr double kSlow = 1.0 / 512;       // level, its deviation, the long-term step
constexpr double kModel = 1.0 / 256;      // errors of the predictors (profile gates)
constexpr double kSlot = 1.0 / 8;         // profile slots (after their first visits)
constexpr double kRawLong = 1.0 / 2048;   // raw-score distribution
constexpr double kRawShort = 1.0 / 8;     // raw-score short mean
constexpr double kRawBinWidth = 0.5;      // raw-score histogram bin (log units)
constexpr double kRarityScale = 4.0;      // -log10 share mapped to score 1
constexpr double kWinsor = 10.0;
constexpr double kGoodModel = 4.0;         // predictors this close to the best one count           // learning clips at this many deviations
constexpr double kMaxSurprise = 1e6;
constexpr int64_t kLearning = 256;        // readings scored 0 while the state fills
constexpr double kDamp = 0.0;              // damping of scores under the recent peak
constexpr double kRefractory = 0.9995;      // per-reading decay of the recent peak
constexpr double kTiny = 1e-300;
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHalfHourMs = 1'800'000;
constexpr int64_t kHourMs = 3'600'000;

double ewma(double avg, double x, double alpha) noexcept { return avg + alpha * (x - avg); }

double ratio(double dev, double scale) noexcept {
  double z = dev / (scale + kTiny);
  return z < kMaxSurprise ? z : kMaxSurprise;
}

int day_slot(int64_t t_ms) noexcept {
  int64_t r = t_ms % kDayMs;
  if (r < 0) r += kDayMs;
  return static_cast<int>(r / kHalfHourMs);
}

int week_slot(int64_t t_ms) noexcept {
  int64_t h = t_ms / kHourMs;
  if (t_ms < 0 && t_ms % kHourMs != 0) --h;
  int64_t r = (h + 3 * 24) % (7 * 24);  // 1970-01-01 was a Thursday: slot 0 is Monday 00:00
  if (r < 0) r += 7 * 24;
  return static_cast<int>(r);
}

double clip(double x, double centre, double bound) noexcept {
  return std::clamp(x, centre - bound, centre + bound);
}

}  // namespace

double AutoDetector::raw_surprise(int64_t t_ms, double x) noexcept {
  // Surprise under each predictor: flat level, random walk (previous reading), time-of-day
  // profile, week profile; each divided by that predictor's own mean absolute error.
  constexpr int kModels = 4;
  double err[kModels] = {err_level_, err_walk_, HUGE_VAL, HUGE_VAL};
  double z[kModels] = {ratio(std::abs(x - level_), err_level_),
                       ratio(std::abs(x - prev_x_), err_walk_), 0.0, 0.0};
  const int d = day_slot(t_ms);
  if (day_n_[d] >= 2 && t_ms - t_first_ >= 2 * kDayMs) {
    err[2] = err_day_;
    const double scale = 0.5 * (static_cast<double>(day_dev_[d]) + err_day_);
    z[2] = ratio(std::abs(x - static_cast<double>(day_mean_[d])), scale);
  }
  const int w = week_slot(t_ms);
  if (week_n_[w] >= 2 && t_ms - t_first_ >= 14 * kDayMs) {
    err[3] = err_week_;
    z[3] = ratio(std::abs(x - static_cast<double>(week_mean_[w])), err_week_);
  }
  // The reading is as surprising as the least surprised of the good predictors (those
  // within kGoodModel of the best one's error): what some good model explains is normal.
  double best = err[0];
  for (int m = 1; m < kModels; ++m) best = std::min(best, err[m]);
  double zmin = HUGE_VAL;
  for (int m = 0; m < kModels; ++m) {
    if (err[m] <= kGoodModel * best) zmin = std::min(zmin, z[m]);
  }
  return std::log1p(zmin);
}

void AutoDetector::learn(int64_t t_ms, double x) noexcept {
  // Winsorise: a reading far outside the usual spread moves the statistics only as far as
  // kWinsor deviations would, so a single huge value does not poison them; a lasting shift
  // is still learnt, since the deviation grows while readings keep hitting the bound.
  double bound = kWinsor * level_dev_;
  if (bound <= 0.0) bound = std::abs(level_) > 0.0 ? std::abs(level_) : HUGE_VAL;
  const double xw = bound == HUGE_VAL ? x : clip(x, level_, bound);

  double step_bound = kWinsor * step_slow_;
  const double step = std::abs(x - prev_x_);
  const double sw = step_bound > 0.0 ? std::min(step, step_bound) : std::min(step, bound);

  err_level_ = ewma(err_level_, std::abs(xw - level_), kModel);
  err_walk_ = ewma(err_walk_, sw, kModel);
  const int d = day_slot(t_ms);
  const int w = week_slot(t_ms);
  if (day_n_[d] >= 2) err_day_ = ewma(err_day_, std::abs(xw - static_cast<double>(day_mean_[d])), kModel);
  else err_day_ = ewma(err_day_, std::abs(xw - level_), kModel);
  if (week_n_[w] >= 2) err_week_ = ewma(err_week_, std::abs(xw - static_cast<double>(week_mean_[w])), kModel);
  else err_week_ = ewma(err_week_, std::abs(xw - level_), kModel);

  level_dev_ = ewma(level_dev_, std::abs(xw - level_), kSlow);
  level_ = ewma(level_, xw, kSlow);
  step_slow_ = ewma(step_slow_, sw, kSlow);

  // Profile slots: plain mean over the first visits, then exponential.
  auto slot_update = [&](float& mean, float* dev, uint8_t& n) {
    const double a = n < 8 ? 1.0 / (n + 1.0) : kSlot;
    const double m = static_cast<double>(mean);
    if (dev != nullptr && n > 0) *dev = static_cast<float>(ewma(static_cast<double>(*dev), std::abs(xw - m), a));
    mean = static_cast<float>(n == 0 ? xw : ewma(m, xw, a));
    if (n < 255) ++n;
  };
  slot_update(day_mean_[d], &day_dev_[d], day_n_[d]);
  slot_update(week_mean_[w], nullptr, week_n_[w]);
  prev_x_ = x;
}

double AutoDetector::likelihood(double raw) noexcept {
  // Rarity: the share of past raw scores (and of past short means) at or above this one,
  // from decaying fixed-bin histograms; the score is -log10 of the smaller share, scaled.
  raw_short_ = ewma(raw_short_, raw, kRawShort);
  auto bin = [](double r) {
    const double b = r / kRawBinWidth;
    return b >= kRawBins - 1 ? kRawBins - 1 : static_cast<int>(b > 0.0 ? b : 0.0);
  };
  const int bi = bin(raw);
  const int bs = bin(raw_short_);
  double tail_i = 0.0, tail_s = 0.0, total = 0.0;
  for (int k = 0; k < kRawBins; ++k) {
    total += static_cast<double>(hist_raw_[k]);
    if (k >= bi) tail_i += static_cast<double>(hist_raw_[k]);
    if (k >= bs) tail_s += static_cast<double>(hist_short_[k]);
  }
  const double p = (std::min(tail_i, tail_s) + 0.5) / (total + 1.0);
  const auto keep = static_cast<float>(1.0 - kRawLong);
  for (int k = 0; k < kRawBins; ++k) {
    hist_raw_[k] *= keep;
    hist_short_[k] *= keep;
  }
  hist_raw_[bi] += 1.0f;
  hist_short_[bs] += 1.0f;
  if (bi == 0 && bs == 0) return 0.0;  // no surprise at all (e.g. a constant series)
  return std::min(1.0, -std::log10(p) / kRarityScale);
}

double AutoDetector::update(int64_t t_ms, double x) noexcept {
  if (n_ == 0) {
    level_ = x;
    prev_x_ = x;
    t_first_ = t_ms;
    low_ = high_ = x;
    for (int i = 0; i < kDaySlots; ++i) day_n_[i] = 0;
    n_ = 1;
    learn(t_ms, x);
    return 0.0;
  }
  // Expected band: the better of the flat level and the time-of-day profile, +- 3 of its
  // mean absolute errors (about 2.4 standard deviations of Gaussian noise).
  {
    const int d = day_slot(t_ms);
    double centre = level_;
    double spread = level_dev_;
    if (day_n_[d] >= 2 && err_day_ < err_level_) {
      centre = static_cast<double>(day_mean_[d]);
      spread = 0.5 * (static_cast<double>(day_dev_[d]) + err_day_);
    }
    low_ = centre - 3.0 * spread;
    high_ = centre + 3.0 * spread;
  }
  const double raw = raw_surprise(t_ms, x);
  learn(t_ms, x);
  double s = likelihood(raw);
  ++n_;
  if (n_ <= kLearning) return 0.0;
  // Refractory damping: only a score above the decaying recent peak passes in full.
  peak_ *= kRefractory;
  const double out = s > peak_ ? s : kDamp * s;
  peak_ = std::max(peak_, s);
  return std::clamp(out, 0.0, 1.0);
}

}  // namespace weir::pipeline::detect
