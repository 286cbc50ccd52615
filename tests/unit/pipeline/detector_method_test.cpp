// The methods of $detect, one reading at a time, against hand-computed expectations.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <deque>
#include <limits>
#include <random>
#include <vector>

#include "pipeline/detect/alert_state.hpp"
#include "pipeline/detect/detector_method.hpp"

namespace weir::pipeline::detect {
namespace {

MethodSpec spec_of(MethodKind kind) {
  MethodSpec s;
  s.kind = kind;
  return s;
}

TEST(Threshold, OutsideTheBoundsIsAnomalousAtOnceWithoutFor) {
  MethodSpec s = spec_of(MethodKind::kThreshold);
  s.min = 0;
  s.max = 10;
  auto m = make_method_state(s);
  Judgement j = m->update(0, 5);
  EXPECT_TRUE(j.judged);
  EXPECT_FALSE(j.anomalous);
  EXPECT_EQ(j.score, 0.0);
  EXPECT_EQ(j.low, 0.0);
  EXPECT_EQ(j.high, 10.0);
  j = m->update(1, 11);
  EXPECT_TRUE(j.anomalous);
  EXPECT_EQ(j.score, 1.0);
  EXPECT_TRUE(m->update(2, -0.5).anomalous);
  EXPECT_FALSE(m->update(3, 10).anomalous);  // the bounds themselves are normal
}

TEST(Threshold, ForNeedsTheWholeDurationOutside) {
  MethodSpec s = spec_of(MethodKind::kThreshold);
  s.max = 10;
  s.duration = 2000;
  auto m = make_method_state(s);
  EXPECT_FALSE(m->update(0, 11).anomalous);
  EXPECT_FALSE(m->update(1000, 12).anomalous);
  EXPECT_TRUE(m->update(2000, 12).anomalous);
  EXPECT_FALSE(m->update(3000, 5).anomalous);
  EXPECT_FALSE(m->update(4000, 11).anomalous);  // the clock starts again
  EXPECT_TRUE(std::isnan(m->update(5000, 11).low));  // no min: no low bound
}

TEST(ZScore, JudgesAgainstThePreviousReadingsOnly) {
  MethodSpec s = spec_of(MethodKind::kZScore);
  s.window = 4;
  s.min_samples = 4;
  s.threshold = 3;
  auto m = make_method_state(s);
  for (int i = 1; i <= 4; ++i) EXPECT_FALSE(m->update(i, i).judged) << i;
  // Window {1,2,3,4}: mean 2.5, sample sd sqrt(5/3) = 1.29099; z(10) = 7.5 / 1.29099 = 5.80948.
  Judgement j = m->update(5, 10);
  EXPECT_TRUE(j.judged);
  EXPECT_TRUE(j.anomalous);
  EXPECT_NEAR(j.score, (5.80948 / 3) / (1 + 5.80948 / 3), 1e-5);
  EXPECT_NEAR(j.low, 2.5 - 3 * 1.290994, 1e-5);
  EXPECT_NEAR(j.high, 2.5 + 3 * 1.290994, 1e-5);
  // Window {2,3,4,10}: mean 4.75, sd sqrt(38.75/3) = 3.59398; z(3) = 0.48693.
  j = m->update(6, 3);
  EXPECT_FALSE(j.anomalous);
  EXPECT_NEAR(j.score, (0.48693 / 3) / (1 + 0.48693 / 3), 1e-5);
}

TEST(ZScore, TimeSpanWindowForgetsOldReadings) {
  MethodSpec s = spec_of(MethodKind::kZScore);
  s.window = 0;
  s.span = 10000;
  s.min_samples = 2;
  auto m = make_method_state(s);
  m->update(0, 0);
  m->update(5000, 10);
  // At 12 s the window is (2 s, 12 s]: only the reading at 5 s is left, too few to judge.
  EXPECT_FALSE(m->update(12000, 1000).judged);
  EXPECT_TRUE(m->update(13000, 11).judged);  // {10, 1000}
}

TEST(ZScore, ConstantSeriesThenAnyChangeIsAnomalous) {
  MethodSpec s = spec_of(MethodKind::kZScore);
  s.window = 10;
  auto m = make_method_state(s);
  for (int i = 0; i < 20; ++i) {
    Judgement j = m->update(i, 5.0);
    EXPECT_FALSE(j.anomalous);
    EXPECT_EQ(j.score, 0.0);
  }
  Judgement j = m->update(20, 5.001);
  EXPECT_TRUE(j.anomalous);
  EXPECT_EQ(j.score, 1.0);
}

TEST(ZScore, HugeValueIsFlaggedAndLeavesNoPoisonBehind) {
  MethodSpec s = spec_of(MethodKind::kZScore);
  s.window = 10;
  auto m = make_method_state(s);
  int t = 0;
  for (int i = 0; i < 20; ++i) m->update(t++, i % 2);
  Judgement j = m->update(t++, 1e300);
  EXPECT_TRUE(j.anomalous);
  EXPECT_GT(j.score, 0.99);
  // While 1e300 is in the window its deviation is infinite: nothing stands out, nothing NaN.
  for (int i = 0; i < 9; ++i) {
    j = m->update(t++, i % 2);
    EXPECT_FALSE(std::isnan(j.score));
    EXPECT_FALSE(j.anomalous);
  }
  m->update(t++, 0);  // the huge value leaves the window with this one
  j = m->update(t++, 100);
  EXPECT_TRUE(j.anomalous);
  EXPECT_FALSE(m->update(t++, 1).anomalous);
}

TEST(Ewma, HandComputedMeanAndVariance) {
  MethodSpec s = spec_of(MethodKind::kEwma);
  s.alpha = 0.5;
  s.min_samples = 2;
  s.threshold = 3;
  auto m = make_method_state(s);
  EXPECT_FALSE(m->update(0, 10).judged);  // mean 10, var 0
  EXPECT_FALSE(m->update(1, 12).judged);  // d 2: mean 11, var 0.5 (0 + 0.5 * 4) = 1
  Judgement j = m->update(2, 11);         // z 0; then mean 11, var 0.5
  EXPECT_TRUE(j.judged);
  EXPECT_FALSE(j.anomalous);
  EXPECT_NEAR(j.low, 8.0, 1e-12);
  j = m->update(3, 20);  // sd sqrt(0.5): z = 9 / 0.70711 = 12.7279
  EXPECT_TRUE(j.anomalous);
  EXPECT_NEAR(j.score, (12.7279 / 3) / (1 + 12.7279 / 3), 1e-5);
  EXPECT_NEAR(j.low, 11 - 3 * std::sqrt(0.5), 1e-9);
}

TEST(Ewma, AJumpThatWouldOverflowIsNotTakenIn) {
  MethodSpec s = spec_of(MethodKind::kEwma);
  s.min_samples = 2;
  auto m = make_method_state(s);
  for (int i = 0; i < 10; ++i) m->update(i, i % 2);
  EXPECT_TRUE(m->update(10, 1e300).anomalous);   // variance would be infinite
  EXPECT_TRUE(m->update(11, -1e300).anomalous);
  Judgement j = m->update(12, 0.5);
  EXPECT_FALSE(j.anomalous);
  EXPECT_TRUE(std::isfinite(j.high));
  EXPECT_TRUE(m->update(13, 50).anomalous);
}

TEST(Mad, RobustZScoreIglewiczHoaglin) {
  MethodSpec s = spec_of(MethodKind::kMad);
  s.window = 5;
  s.min_samples = 5;
  s.threshold = 3.5;
  auto m = make_method_state(s);
  for (double x : {1.0, 2.0, 3.0, 4.0, 100.0}) EXPECT_FALSE(m->update(0, x).judged);
  // {1,2,3,4,100}: median 3, |dev| {2,1,0,1,97}: MAD 1; z(6) = 0.6745 * 3 / 1 = 2.0235.
  Judgement j = m->update(1, 6);
  EXPECT_FALSE(j.anomalous);
  EXPECT_NEAR(j.score, (2.0235 / 3.5) / (1 + 2.0235 / 3.5), 1e-4);
  EXPECT_NEAR(j.low, 3 - 3.5 / 0.6745, 1e-9);
  // {2,3,4,100,6}: median 4, |dev| {2,1,0,96,2}: MAD 2; z(20) = 0.6745 * 16 / 2 = 5.396.
  j = m->update(2, 20);
  EXPECT_TRUE(j.anomalous);
  EXPECT_NEAR(j.score, (5.396 / 3.5) / (1 + 5.396 / 3.5), 1e-4);
}

TEST(Mad, ZeroMadFallsBackToMeanAbsoluteDeviation) {
  MethodSpec s = spec_of(MethodKind::kMad);
  s.window = 5;
  s.min_samples = 5;
  s.threshold = 3.5;
  auto m = make_method_state(s);
  for (double x : {5.0, 5.0, 5.0, 5.0, 6.0}) m->update(0, x);
  // median 5, MAD 0; mean |dev| 0.2, scale 0.2 * 1.2533; z(6) = 1 / 0.25066 = 3.9894.
  Judgement j = m->update(1, 6);
  EXPECT_TRUE(j.anomalous);
  EXPECT_NEAR(j.score, (3.9894 / 3.5) / (1 + 3.9894 / 3.5), 1e-4);
}

TEST(Mad, EvenWindowMedianIsTheMidpoint) {
  MethodSpec s = spec_of(MethodKind::kMad);
  s.window = 4;
  s.min_samples = 4;
  s.threshold = 3.5;
  auto m = make_method_state(s);
  for (double x : {1.0, 2.0, 4.0, 8.0}) m->update(0, x);
  // median 3; |dev| {2,1,1,5}: MAD 1.5; expected band 3 +- 3.5 * 1.5 / 0.6745.
  Judgement j = m->update(1, 3);
  EXPECT_NEAR(j.low, 3 - 3.5 * 1.5 / 0.6745, 1e-9);
  EXPECT_EQ(j.score, 0.0);
}

// The sorted-window MAD against a brute-force median and MAD recomputed for every reading,
// with ties, negative values and both window kinds.
TEST(Mad, MatchesBruteForceOnRandomSeries) {
  for (int trial = 0; trial < 40; ++trial) {
    std::mt19937_64 rng(static_cast<uint64_t>(trial));
    MethodSpec s = spec_of(MethodKind::kMad);
    s.threshold = 3.5;
    s.min_samples = 2;
    const bool by_time = trial % 2 == 1;
    if (by_time) {
      s.span = 1000 * static_cast<TimeMs>(3 + rng() % 40);
    } else {
      s.window = 2 + rng() % 50;
    }
    auto m = make_method_state(s);
    std::deque<std::pair<TimeMs, double>> w;
    TimeMs t = 0;
    for (int i = 0; i < 400; ++i) {
      t += static_cast<TimeMs>(rng() % 3) * 1000;  // equal times too
      const double x = static_cast<double>(static_cast<int>(rng() % 21) - 10) * (trial % 3 == 0 ? 1.0 : 0.25);
      if (by_time) {
        while (!w.empty() && w.front().first <= t - s.span) w.pop_front();
      }
      Judgement j = m->update(t, x);
      if (w.size() >= 2) {
        std::vector<double> v;
        for (const auto& [ts, val] : w) v.push_back(val);
        std::sort(v.begin(), v.end());
        const size_t n = v.size();
        const double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        std::vector<double> d;
        double mean_abs = 0;
        for (double val : v) {
          d.push_back(std::fabs(val - med));
          mean_abs += std::fabs(val - med) / static_cast<double>(n);
        }
        std::sort(d.begin(), d.end());
        const double mad = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
        const double scale = mad > 0 ? mad / 0.6745 : mean_abs * 1.2533;
        ASSERT_TRUE(j.judged);
        ASSERT_NEAR(j.low, med - 3.5 * scale, 1e-9) << "trial " << trial << " reading " << i;
        ASSERT_NEAR(j.high, med + 3.5 * scale, 1e-9) << "trial " << trial << " reading " << i;
      } else {
        ASSERT_FALSE(j.judged);
      }
      if (!by_time && w.size() >= s.window) w.pop_front();
      w.emplace_back(t, x);
    }
  }
}

TEST(Cusum, SignalsAShiftOnceThenRelearns) {
  MethodSpec s = spec_of(MethodKind::kCusum);
  s.k = 0.5;
  s.h = 2;
  s.min_samples = 4;
  auto m = make_method_state(s);
  for (double x : {1.0, 3.0, 1.0, 3.0}) EXPECT_FALSE(m->update(0, x).judged);
  // Baseline mean 2, sd sqrt(4/3) = 1.1547.
  Judgement j = m->update(1, 3);  // u 0.866: S+ 0.366
  EXPECT_TRUE(j.judged);
  EXPECT_FALSE(j.anomalous);
  EXPECT_NEAR(j.score, (0.366 / 2) / (1 + 0.366 / 2), 1e-3);
  EXPECT_FALSE(m->update(2, 4).anomalous);  // u 1.732: S+ 1.598
  EXPECT_TRUE(m->update(3, 4).anomalous);   // S+ 2.830 > 2
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(m->update(4 + i, 4 + (i % 2)).judged);  // relearning
  EXPECT_FALSE(m->update(9, 4.5).anomalous);
}

TEST(Cusum, SignalsADownwardDrift) {
  MethodSpec s = spec_of(MethodKind::kCusum);
  s.min_samples = 10;
  auto m = make_method_state(s);
  for (int i = 0; i < 10; ++i) m->update(i, i % 2 == 0 ? 10.0 : 11.0);
  bool fired = false;
  int at = 0;
  for (int i = 0; i < 50 && !fired; ++i) {
    fired = m->update(10 + i, 10.5 - 0.1 * i).anomalous;
    at = i;
  }
  EXPECT_TRUE(fired);
  EXPECT_LT(at, 20);
}

TEST(Rate, ChangePerSecond) {
  MethodSpec s = spec_of(MethodKind::kRate);
  s.max_per_second = 2;
  auto m = make_method_state(s);
  EXPECT_FALSE(m->update(0, 0).judged);
  Judgement j = m->update(1000, 1);  // 1 per second: ratio 0.5
  EXPECT_FALSE(j.anomalous);
  EXPECT_NEAR(j.score, 1.0 / 3.0, 1e-12);
  j = m->update(1500, 3);  // 2 in 0.5 s: 4 per second
  EXPECT_TRUE(j.anomalous);
  EXPECT_NEAR(j.score, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j.low, 0.0, 1e-12);
  EXPECT_NEAR(j.high, 2.0, 1e-12);
  EXPECT_FALSE(m->update(1500, 100).judged);  // no time passed: nothing to judge
  EXPECT_FALSE(m->update(2500, 101).anomalous);
}

TEST(Flatline, StuckWithinEpsilonForTheDuration) {
  MethodSpec s = spec_of(MethodKind::kFlatline);
  s.duration = 3000;
  s.epsilon = 0.1;
  auto m = make_method_state(s);
  EXPECT_FALSE(m->update(0, 5).judged);
  EXPECT_FALSE(m->update(1000, 5.05).anomalous);
  EXPECT_FALSE(m->update(2000, 4.95).anomalous);
  Judgement j = m->update(3000, 5.0);
  EXPECT_TRUE(j.anomalous);
  EXPECT_EQ(j.score, 1.0);
  j = m->update(4000, 5.2);  // moved: judged normal, and a new run starts
  EXPECT_TRUE(j.judged);
  EXPECT_FALSE(j.anomalous);
  EXPECT_FALSE(m->update(5000, 5.2).anomalous);
}

TEST(Flatline, ExactRepeatWithZeroEpsilon) {
  MethodSpec s = spec_of(MethodKind::kFlatline);
  s.duration = 2000;
  auto m = make_method_state(s);
  m->update(0, 1);
  m->update(1000, 1);
  EXPECT_TRUE(m->update(2000, 1).anomalous);
  EXPECT_FALSE(m->update(3000, 1.0000001).anomalous);
}

TEST(Flatline, ASilenceLongerThanForStartsANewRun) {
  MethodSpec s = spec_of(MethodKind::kFlatline);
  s.duration = 2000;
  auto m = make_method_state(s);
  m->update(0, 1);
  EXPECT_FALSE(m->update(10000, 1).anomalous);  // back after 10 s with the same value
  EXPECT_FALSE(m->update(11000, 1).anomalous);
  EXPECT_TRUE(m->update(12000, 1).anomalous);
}

TEST(Auto, ScoresStayInRangeOnHardInput) {
  MethodSpec s = spec_of(MethodKind::kAuto);
  s.threshold = AutoDetector::kThreshold;
  auto m = make_method_state(s);
  TimeMs t = 0;
  for (int i = 0; i < 2000; ++i) {
    const double x = i % 500 == 499 ? 1e300 : (i < 1000 ? 7.0 : std::sin(i * 0.1) * 1e6);
    Judgement j = m->update(t, x);
    t += i % 7 == 0 ? 0 : 60000;  // equal times and gaps
    ASSERT_TRUE(j.judged);
    ASSERT_GE(j.score, 0.0) << i;
    ASSERT_LE(j.score, 1.0) << i;
    if (i > 0 && i < 499) {
      EXPECT_EQ(j.score, 0.0) << "a constant series is never anomalous";
    }
  }
}

// Five-minute readings of a daily cycle with noise: after its warm-up, auto stays quiet on
// the normal cycle, flags a spike the size of the cycle and gives a band around the cycle.
TEST(Auto, FlagsASpikeOnADailyCycleAndNothingElse) {
  MethodSpec s = spec_of(MethodKind::kAuto);
  s.threshold = AutoDetector::kThreshold;
  auto m = make_method_state(s);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.3);
  constexpr TimeMs kFive = 5 * 60 * 1000;
  int flagged_normal = 0;
  for (int i = 0; i < 3000; ++i) {
    const double cycle = 50.0 + 10.0 * std::sin(2.0 * M_PI * i / 288.0);
    const double x = cycle + noise(rng) + (i == 2500 ? 25.0 : 0.0);
    Judgement j = m->update(static_cast<TimeMs>(i) * kFive, x);
    ASSERT_GE(j.score, 0.0);
    ASSERT_LE(j.score, 1.0);
    if (i == 2500) {
      EXPECT_TRUE(j.anomalous) << "score " << j.score;
    } else if (i >= 750 && j.anomalous) {
      ++flagged_normal;
    }
    if (i > 1000 && i < 2500) {
      EXPECT_LT(j.low, cycle) << i;
      EXPECT_GT(j.high, cycle) << i;
    }
  }
  EXPECT_EQ(flagged_normal, 0);
}

// A sentinel as the first value (FLT_MAX, DBL_MAX) must not blind the detector: a clear
// spike later still scores at the threshold, and the expected band is around the data.
TEST(Auto, AHugeFirstValueDoesNotBlindIt) {
  for (double first : {10.0, 3.4e38, 1.7e308, -9999.0}) {
    MethodSpec s = spec_of(MethodKind::kAuto);
    s.threshold = AutoDetector::kThreshold;
    auto m = make_method_state(s);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> noise(0.0, 1.0);
    constexpr TimeMs kFive = 5 * 60 * 1000;
    Judgement j = m->update(0, first);
    for (int i = 1; i < 1200; ++i) {
      const double x = 10.0 + noise(rng) + (i == 1100 ? 20.0 : 0.0);
      j = m->update(static_cast<TimeMs>(i) * kFive, x);
      ASSERT_FALSE(std::isnan(j.score)) << first << " reading " << i;
      if (i == 1100) {
        EXPECT_TRUE(j.anomalous) << "first " << first << ": score " << j.score;
      }
      if (i == 1000) {
        EXPECT_GT(j.low, 0.0) << first;
        EXPECT_LT(j.high, 20.0) << first;
      }
    }
  }
}

// Values at the edge of the double range, alternating in sign, overflow what they touch;
// the detector starts over and never reports NaN.
TEST(Auto, OverflowingInputStartsOverWithoutNaN) {
  MethodSpec s = spec_of(MethodKind::kAuto);
  s.threshold = AutoDetector::kThreshold;
  auto m = make_method_state(s);
  for (int i = 0; i < 50; ++i) {
    Judgement j = m->update(i * 1000, i % 2 == 0 ? 1.7e308 : -1.7e308);
    ASSERT_FALSE(std::isnan(j.score));
  }
  Judgement j;
  for (int i = 50; i < 1000; ++i) j = m->update(i * 1000, 5.0 + (i % 3) * 0.1);
  EXPECT_FALSE(std::isnan(j.low));
  EXPECT_GT(j.low, 0.0);
  EXPECT_LT(j.high, 10.0);
}

TEST(RatioScore, HalfAtTheLimit) {
  EXPECT_EQ(ratio_score(1.0), 0.5);
  EXPECT_EQ(ratio_score(0.0), 0.0);
  EXPECT_EQ(ratio_score(std::numeric_limits<double>::infinity()), 1.0);
  EXPECT_EQ(ratio_score(std::numeric_limits<double>::quiet_NaN()), 0.0);
}

TEST(AlertState, RaiseAfterAndClearAfterCounts) {
  AlertPolicy p;
  p.raise_after = 2;
  p.clear_after = 3;
  AlertState a;
  EXPECT_EQ(a.observe(p, 0, true), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 1, false), AlertStep::kNone);  // the run is broken
  EXPECT_EQ(a.observe(p, 2, true), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 3, true), AlertStep::kRaise);
  EXPECT_EQ(a.raised_at, 3);
  EXPECT_EQ(a.observe(p, 4, true), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 5, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 6, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 7, true), AlertStep::kNone);  // back to counting normal from zero
  EXPECT_EQ(a.observe(p, 8, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 9, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 10, false), AlertStep::kClear);
  EXPECT_FALSE(a.active);
}

TEST(AlertState, ClearAfterADurationAndCooldown) {
  AlertPolicy p;
  p.clear_for = 5000;
  p.cooldown = 10000;
  AlertState a;
  EXPECT_EQ(a.observe(p, 0, true), AlertStep::kRaise);
  EXPECT_EQ(a.observe(p, 1000, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 5000, false), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 6000, false), AlertStep::kClear);  // normal since 1 s: 5 s
  EXPECT_EQ(a.observe(p, 7000, true), AlertStep::kNone);    // cooling down
  EXPECT_EQ(a.observe(p, 15999, true), AlertStep::kNone);
  EXPECT_EQ(a.observe(p, 16000, true), AlertStep::kRaise);
}

}  // namespace
}  // namespace weir::pipeline::detect
