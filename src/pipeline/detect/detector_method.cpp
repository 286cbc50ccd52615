#include "pipeline/detect/detector_method.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/base64.hpp"

namespace weir::pipeline::detect {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxWindow = 100000;

#define WEIR_ALERT_OPTIONS                                                                     \
  {"raiseAfter", OptionType::kInteger, false, "1",                                            \
   "consecutive anomalous readings before an alert is raised"},                                \
      {"clearAfter", OptionType::kAny, false, "1",                                              \
       "consecutive normal readings (a number) or a duration of normal readings before the "   \
       "alert clears"},                                                                         \
      {"cooldown", OptionType::kDuration, false, "0",                                           \
       "after a clear, no new alert of this method and series for this long (event time)"},     \
      {"severity", OptionType::kString, false, "warning", "info, warning or critical"}

constexpr OptionSpec kThresholdOptions[] = {
    {"min", OptionType::kNumber, false, "none", "readings below are anomalous"},
    {"max", OptionType::kNumber, false, "none", "readings above are anomalous"},
    {"for", OptionType::kDuration, false, "0", "only once outside the bounds this long"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kZScoreOptions[] = {
    {"window", OptionType::kAny, false, "60",
     "the last N readings (a number) or a time span (a duration)"},
    {"threshold", OptionType::kNumber, false, "3", "deviations from the rolling mean"},
    {"minSamples", OptionType::kInteger, false, "10", "readings in the window before it judges"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kEwmaOptions[] = {
    {"alpha", OptionType::kNumber, false, "0.1", "weight of the newest reading, in (0, 1]"},
    {"threshold", OptionType::kNumber, false, "3", "deviations from the weighted mean"},
    {"minSamples", OptionType::kInteger, false, "10", "readings before it judges"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kMadOptions[] = {
    {"window", OptionType::kAny, false, "60",
     "the last N readings (a number) or a time span (a duration)"},
    {"threshold", OptionType::kNumber, false, "3.5", "robust z-score 0.6745 |x - median| / MAD"},
    {"minSamples", OptionType::kInteger, false, "10", "readings in the window before it judges"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kCusumOptions[] = {
    {"k", OptionType::kNumber, false, "0.5", "allowance, in baseline deviations"},
    {"h", OptionType::kNumber, false, "5", "decision limit, in baseline deviations"},
    {"minSamples", OptionType::kInteger, false, "30",
     "readings that set the baseline mean and deviation (again after each change)"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kRateOptions[] = {
    {"maxPerSecond", OptionType::kNumber, true, "", "largest normal change per second"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kFlatlineOptions[] = {
    {"for", OptionType::kDuration, true, "", "the value stays within epsilon this long"},
    {"epsilon", OptionType::kNumber, false, "0", "largest change still counted as stuck"},
    WEIR_ALERT_OPTIONS,
};
constexpr OptionSpec kMissingOptions[] = {
    {"after", OptionType::kDuration, true, "",
     "no reading of the series for this long (processing time) raises; the next reading clears"},
    {"severity", OptionType::kString, false, "warning", "info, warning or critical"},
};
constexpr OptionSpec kAutoOptions[] = {
    {"threshold", OptionType::kNumber, false, "0.38", "score from which a reading is anomalous"},
    WEIR_ALERT_OPTIONS,
};
#undef WEIR_ALERT_OPTIONS

static_assert(AutoDetector::kThreshold == 0.38, "update the auto method's option table default");

struct MethodEntry {
  MethodKind kind;
  ComponentInfo info;
};
const MethodEntry kMethods[] = {
    {MethodKind::kThreshold, {"threshold", "static bounds", kThresholdOptions}},
    {MethodKind::kZScore, {"zscore", "rolling mean and deviation", kZScoreOptions}},
    {MethodKind::kEwma, {"ewma", "exponentially weighted mean and variance", kEwmaOptions}},
    {MethodKind::kMad, {"mad", "median and median absolute deviation", kMadOptions}},
    {MethodKind::kCusum, {"cusum", "two-sided CUSUM change point", kCusumOptions}},
    {MethodKind::kRate, {"rate", "rate of change", kRateOptions}},
    {MethodKind::kFlatline, {"flatline", "stuck sensor", kFlatlineOptions}},
    {MethodKind::kMissing, {"missing", "dead-man timer", kMissingOptions}},
    {MethodKind::kAuto, {"auto", "weir's default detector, nothing to tune", kAutoOptions}},
};

void parse_window(const config::Node& spec, MethodSpec& m) {
  auto w = spec.get("window");
  if (!w) {
    m.window = 60;
    return;
  }
  if (w->is_object()) {
    m.span = w->as_duration();
  } else {
    m.window = static_cast<size_t>(w->as_int(2, static_cast<int64_t>(kMaxWindow)));
  }
}

double positive_number(const config::Node& node) {
  double v = node.as_number();
  if (!(v > 0.0) || !std::isfinite(v)) node.fail("a number above 0");
  return v;
}

// Checkpoint helpers: states are saved as small arrays of numbers.
bool is_tuple(const Value& v, size_t n) {
  if (!v.is_array() || v.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!v.at(i).is_number()) return false;
  }
  return true;
}
Value tuple(std::initializer_list<Value> items) {
  Value v = Value::array();
  for (const auto& i : items) v.push_back(i);
  return v;
}
double d_at(const Value& v, size_t i) { return v.at(i).as_double(); }
int64_t i_at(const Value& v, size_t i) {
  return v.at(i).is_int() ? v.at(i).as_int() : static_cast<int64_t>(v.at(i).as_double());
}

Judgement deviation_judgement(double x, double centre, double scale, double threshold) {
  Judgement j;
  j.judged = true;
  const double d = std::fabs(x - centre);
  double z = 0.0;
  if (scale > 0.0 && std::isfinite(scale)) {
    z = d / scale;
  } else if (scale == 0.0) {
    z = d == 0.0 ? 0.0 : kInf;
  }  // an infinite scale (values past 1e154): nothing stands out
  if (std::isnan(z)) z = 0.0;
  j.anomalous = z > threshold;
  j.score = ratio_score(z / threshold);
  j.low = centre - threshold * scale;
  j.high = centre + threshold * scale;
  return j;
}

// --- the methods ---------------------------------------------------------------------

class ThresholdState final : public MethodState {
 public:
  explicit ThresholdState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    Judgement j;
    j.judged = true;
    j.low = std::isfinite(spec_.min) ? spec_.min : kNaN;
    j.high = std::isfinite(spec_.max) ? spec_.max : kNaN;
    const bool outside = x < spec_.min || x > spec_.max;
    if (!outside) {
      outside_since_ = kMinTime;
      return j;
    }
    if (outside_since_ == kMinTime) outside_since_ = t;
    j.anomalous = t - outside_since_ >= spec_.duration;
    j.score = j.anomalous ? 1.0 : 0.0;
    return j;
  }
  Value save() const override {
    return tuple({Value(outside_since_)});
  }
  bool load(const Value& v) override {
    if (!is_tuple(v, 1)) return false;
    outside_since_ = i_at(v, 0);
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  const MethodSpec& spec_;
  TimeMs outside_since_ = kMinTime;
};

class ZScoreState final : public MethodState {
 public:
  explicit ZScoreState(const MethodSpec& s) : spec_(s), window_(s.window, s.span) {}
  Judgement update(TimeMs t, double x) override {
    window_.evict_before(t);
    Judgement j;
    if (window_.size() >= std::max<size_t>(spec_.min_samples, 2)) {
      j = deviation_judgement(x, window_.mean(), window_.stddev(), spec_.threshold);
    }
    window_.add(t, x);
    return j;
  }
  Value save() const override {
    return window_.save();
  }
  bool load(const Value& v) override {
    return window_.load(v);
  }
  size_t memory_bytes() const noexcept override {
    return sizeof(*this) - sizeof(window_) + window_.memory_bytes();
  }

 private:
  const MethodSpec& spec_;
  SampleWindow window_;
};

class EwmaState final : public MethodState {
 public:
  explicit EwmaState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    (void)t;
    Judgement j;
    if (n_ >= std::max<size_t>(spec_.min_samples, 2)) {
      j = deviation_judgement(x, mean_, std::sqrt(var_), spec_.threshold);
    }
    if (n_ == 0) {
      mean_ = x;
      var_ = 0.0;
    } else {
      const double d = x - mean_;
      const double mean = mean_ + spec_.alpha * d;
      const double var = (1.0 - spec_.alpha) * (var_ + spec_.alpha * d * d);
      // A reading that would make the state infinite (a jump past 1e154) is judged but
      // not taken in, so the state stays usable.
      if (!std::isfinite(mean) || !std::isfinite(var)) return j;
      mean_ = mean;
      var_ = var;
    }
    ++n_;
    return j;
  }
  Value save() const override {
    return tuple({Value(static_cast<int64_t>(n_)), Value(mean_), Value(var_)});
  }
  bool load(const Value& v) override {
    if (!is_tuple(v, 3)) return false;
    n_ = static_cast<uint64_t>(i_at(v, 0));
    mean_ = d_at(v, 1);
    var_ = d_at(v, 2);
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  const MethodSpec& spec_;
  uint64_t n_ = 0;
  double mean_ = 0.0;
  double var_ = 0.0;
};

// The window is kept twice: in arrival order (to know what leaves) and sorted, so the median
// is a lookup and the MAD a walk outwards from it over n/2 values, with no sorting per reading.
class MadState final : public MethodState {
 public:
  explicit MadState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    if (spec_.span > 0) {
      while (!arrivals_.empty() && arrivals_.front().first <= t - spec_.span) pop_front();
    }
    Judgement j;
    const size_t n = sorted_.size();
    if (n >= std::max<size_t>(spec_.min_samples, 2)) {
      const size_t mid = n / 2;
      const double med = n % 2 == 1 ? sorted_[mid]
                                    : sorted_[mid - 1] + (sorted_[mid] - sorted_[mid - 1]) / 2.0;
      const double mad = median_distance(med);
      // Iglewicz and Hoaglin: z = 0.6745 (x - median) / MAD. When more than half the
      // window equals the median, MAD is 0: the mean absolute deviation (x 1.2533) stands in.
      double scale = mad / 0.6745;
      if (!(mad > 0.0)) {
        double mean_abs = 0.0;
        for (double v : sorted_) mean_abs += std::fabs(v - med) / static_cast<double>(n);
        scale = mean_abs * 1.2533;
      }
      j = deviation_judgement(x, med, scale, spec_.threshold);
    }
    if (spec_.window > 0) {
      while (arrivals_.size() >= spec_.window) pop_front();
    }
    arrivals_.emplace_back(t, x);
    sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), x), x);
    return j;
  }
  Value save() const override {
    Value items = Value::array();
    for (const auto& [t, x] : arrivals_) items.push_back(tuple({Value(t), Value(x)}));
    return items;
  }
  bool load(const Value& v) override {
    if (!v.is_array()) return false;
    arrivals_.clear();
    sorted_.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!is_tuple(v.at(i), 2)) return false;
      arrivals_.emplace_back(i_at(v.at(i), 0), d_at(v.at(i), 1));
      sorted_.push_back(d_at(v.at(i), 1));
    }
    std::sort(sorted_.begin(), sorted_.end());
    return true;
  }
  size_t memory_bytes() const noexcept override {
    return sizeof(*this) + arrivals_.size() * sizeof(arrivals_.front()) + 512 +
           sorted_.capacity() * sizeof(double);
  }

 private:
  void pop_front() {
    const double v = arrivals_.front().second;
    arrivals_.pop_front();
    sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), v));
  }
  // The median of |v - med| over the window: the values below med and those from med up,
  // walked outwards from med, give the distances in increasing order.
  double median_distance(double med) const {
    const size_t n = sorted_.size();
    const size_t split = static_cast<size_t>(
        std::lower_bound(sorted_.begin(), sorted_.end(), med) - sorted_.begin());
    size_t lo = split;  // next below: sorted_[lo - 1]
    size_t hi = split;  // next from med up: sorted_[hi]
    const size_t want = n / 2;  // 0-based rank of the upper middle distance
    double prev = 0.0, cur = 0.0;
    for (size_t k = 0; k <= want; ++k) {
      prev = cur;
      const bool take_low = hi == n || (lo > 0 && med - sorted_[lo - 1] <= sorted_[hi] - med);
      cur = take_low ? med - sorted_[--lo] : sorted_[hi++] - med;
    }
    return n % 2 == 1 ? cur : prev + (cur - prev) / 2.0;
  }
  const MethodSpec& spec_;
  std::deque<std::pair<TimeMs, double>> arrivals_;
  std::vector<double> sorted_;
};

class CusumState final : public MethodState {
 public:
  explicit CusumState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    (void)t;
    Judgement j;
    if (n_ < spec_.min_samples) {
      // Learning the baseline (Welford).
      ++n_;
      const double d = x - mean_;
      mean_ += d / static_cast<double>(n_);
      m2_ += d * (x - mean_);
      if (!std::isfinite(mean_) || !std::isfinite(m2_)) reset();
      return j;
    }
    const double sd = n_ > 1 ? std::sqrt(m2_ / static_cast<double>(n_ - 1)) : 0.0;
    double u = 0.0;
    if (sd > 0.0 && std::isfinite(sd)) {
      u = (x - mean_) / sd;
    } else if (sd == 0.0 && x != mean_) {
      u = x > mean_ ? kInf : -kInf;
    }
    hi_ = std::max(0.0, hi_ + u - spec_.k);
    lo_ = std::max(0.0, lo_ - u - spec_.k);
    j.judged = true;
    const double s = std::max(hi_, lo_);
    j.score = ratio_score(s / spec_.h);  // CUSUM has no expected band: low/high stay NaN
    if (s > spec_.h) {
      // A change: signal once, then learn the new baseline.
      j.anomalous = true;
      reset();
    }
    return j;
  }
  Value save() const override {
    return tuple({Value(static_cast<int64_t>(n_)), Value(mean_), Value(m2_), Value(hi_), Value(lo_)});
  }
  bool load(const Value& v) override {
    if (!is_tuple(v, 5)) return false;
    n_ = static_cast<size_t>(i_at(v, 0));
    mean_ = d_at(v, 1);
    m2_ = d_at(v, 2);
    hi_ = d_at(v, 3);
    lo_ = d_at(v, 4);
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  void reset() {
    n_ = 0;
    mean_ = m2_ = hi_ = lo_ = 0.0;
  }
  const MethodSpec& spec_;
  size_t n_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
  double hi_ = 0.0;  // upper cumulative sum
  double lo_ = 0.0;  // lower cumulative sum
};

class RateState final : public MethodState {
 public:
  explicit RateState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    Judgement j;
    if (has_prev_ && t > prev_t_) {
      const double dt = static_cast<double>(t - prev_t_) / 1000.0;
      const double rate = std::fabs(x - prev_x_) / dt;
      j.judged = true;
      const double r = std::isnan(rate) ? 0.0 : rate / spec_.max_per_second;
      j.anomalous = r > 1.0;
      j.score = ratio_score(r);
      j.low = prev_x_ - spec_.max_per_second * dt;
      j.high = prev_x_ + spec_.max_per_second * dt;
    }
    if (!has_prev_ || t >= prev_t_) {
      has_prev_ = true;
      prev_t_ = t;
      prev_x_ = x;
    }
    return j;
  }
  Value save() const override {
    return tuple({Value(has_prev_ ? 1 : 0), Value(prev_t_), Value(prev_x_)});
  }
  bool load(const Value& v) override {
    if (!is_tuple(v, 3)) return false;
    has_prev_ = i_at(v, 0) != 0;
    prev_t_ = i_at(v, 1);
    prev_x_ = d_at(v, 2);
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  const MethodSpec& spec_;
  bool has_prev_ = false;
  TimeMs prev_t_ = 0;
  double prev_x_ = 0.0;
};

class FlatlineState final : public MethodState {
 public:
  explicit FlatlineState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    Judgement j;
    // The very first reading proves nothing; after that, a reading that moved (or went back
    // in time) is judged normal and starts a new run.
    // A silence longer than `for` also starts a new run: a sensor that comes back with the
    // same value was not seen to be stuck.
    j.judged = has_run_;
    const bool gap = has_run_ && t - last_ > spec_.duration;
    if (!has_run_ || !(std::fabs(x - ref_) <= spec_.epsilon) || t < since_ || gap) {
      has_run_ = true;
      ref_ = x;
      since_ = t;
      last_ = t;
      return j;
    }
    last_ = t;
    j.anomalous = t - since_ >= spec_.duration;
    j.score = j.anomalous ? 1.0 : 0.0;
    j.low = ref_ - spec_.epsilon;
    j.high = ref_ + spec_.epsilon;
    return j;
  }
  Value save() const override {
    return tuple({Value(has_run_ ? 1 : 0), Value(ref_), Value(since_), Value(last_)});
  }
  bool load(const Value& v) override {
    if (!is_tuple(v, 4)) return false;
    has_run_ = i_at(v, 0) != 0;
    ref_ = d_at(v, 1);
    since_ = i_at(v, 2);
    last_ = i_at(v, 3);
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  const MethodSpec& spec_;
  bool has_run_ = false;
  double ref_ = 0.0;
  TimeMs since_ = 0;  // first reading of the run
  TimeMs last_ = 0;   // latest reading
};

class AutoState final : public MethodState {
 public:
  explicit AutoState(const MethodSpec& s) : spec_(s) {}
  Judgement update(TimeMs t, double x) override {
    Judgement j;
    j.score = detector_.update(t, x);
    j.judged = true;
    j.anomalous = j.score >= spec_.threshold;
    j.low = detector_.expected_low();
    j.high = detector_.expected_high();
    return j;
  }
  Value save() const override {
    // Plain bytes: the detector is trivially copyable by design.
    std::string bytes(sizeof(AutoDetector), '\0');
    std::memcpy(bytes.data(), &detector_, sizeof(AutoDetector));
    return Value(core::base64_encode(bytes));
  }
  bool load(const Value& v) override {
    if (!v.is_string()) return false;
    auto bytes = core::base64_decode(v.as_string());
    if (!bytes || bytes->size() != sizeof(AutoDetector)) return false;
    std::memcpy(static_cast<void*>(&detector_), bytes->data(), sizeof(AutoDetector));
    return true;
  }
  size_t memory_bytes() const noexcept override { return sizeof(*this); }

 private:
  const MethodSpec& spec_;
  AutoDetector detector_;
};

}  // namespace

std::string_view method_name(MethodKind kind) noexcept {
  for (const auto& m : kMethods) {
    if (m.kind == kind) return m.info.name;
  }
  return "?";
}

double ratio_score(double ratio) noexcept {
  if (!(ratio > 0.0)) return 0.0;
  if (!std::isfinite(ratio)) return 1.0;
  return ratio / (1.0 + ratio);
}

AlertPolicy parse_alert_policy(const config::Node& node, AlertPolicy p) {
  if (auto n = node.get("raiseAfter")) p.raise_after = static_cast<uint32_t>(n->as_int(1, 1000000));
  if (auto n = node.get("clearAfter")) {
    if (n->is_object()) {
      p.clear_for = n->as_duration();
      p.clear_after = 1;
    } else {
      p.clear_after = static_cast<uint32_t>(n->as_int(1, 1000000));
      p.clear_for = 0;
    }
  }
  if (auto n = node.get("cooldown")) p.cooldown = n->as_duration(true);
  if (auto n = node.get("severity")) p.severity = n->as_enum({"info", "warning", "critical"});
  return p;
}

MethodSpec parse_method(std::string_view name, const config::Node& node,
                        const AlertPolicy& defaults) {
  const MethodEntry* entry = nullptr;
  for (const auto& m : kMethods) {
    if (m.info.name == name) entry = &m;
  }
  if (entry == nullptr) {
    node.fail("a method named threshold, zscore, ewma, mad, cusum, rate, flatline, missing or "
              "auto (got \"" + std::string(name) + "\")");
  }
  node.expect_object();
  node.check_options(entry->info);
  MethodSpec m;
  m.kind = entry->kind;
  m.alert = parse_alert_policy(node, defaults);
  switch (m.kind) {
    case MethodKind::kThreshold: {
      auto lo = node.get("min");
      auto hi = node.get("max");
      if (!lo && !hi) node.fail("\"min\", \"max\" or both");
      if (lo) m.min = lo->as_number();
      if (hi) m.max = hi->as_number();
      if (lo && hi && m.min > m.max) hi->fail("a max not below min");
      if (auto f = node.get("for")) m.duration = f->as_duration(true);
      break;
    }
    case MethodKind::kZScore:
    case MethodKind::kMad:
      parse_window(node, m);
      m.threshold = m.kind == MethodKind::kMad ? 3.5 : 3.0;
      if (auto n = node.get("threshold")) m.threshold = positive_number(*n);
      m.min_samples = static_cast<size_t>(node.int_or("minSamples", 10, 2, static_cast<int64_t>(kMaxWindow)));
      if (m.window > 0 && m.min_samples > m.window) {
        node.at("minSamples").fail("a minSamples not above the window (" + std::to_string(m.window) + ")");
      }
      break;
    case MethodKind::kEwma:
      if (auto n = node.get("alpha")) {
        m.alpha = n->as_number();
        if (!(m.alpha > 0.0 && m.alpha <= 1.0)) n->fail("a number in (0, 1]");
      }
      if (auto n = node.get("threshold")) m.threshold = positive_number(*n);
      m.min_samples = static_cast<size_t>(node.int_or("minSamples", 10, 2, 1000000));
      break;
    case MethodKind::kCusum:
      if (auto n = node.get("k")) {
        m.k = n->as_number();
        if (!(m.k >= 0.0) || !std::isfinite(m.k)) n->fail("a number of at least 0");
      }
      if (auto n = node.get("h")) m.h = positive_number(*n);
      m.min_samples = static_cast<size_t>(node.int_or("minSamples", 30, 2, 1000000));
      break;
    case MethodKind::kRate:
      m.max_per_second = positive_number(node.at("maxPerSecond"));
      break;
    case MethodKind::kFlatline:
      m.duration = node.at("for").as_duration();
      if (auto n = node.get("epsilon")) {
        m.epsilon = n->as_number();
        if (!(m.epsilon >= 0.0) || !std::isfinite(m.epsilon)) n->fail("a number of at least 0");
      }
      break;
    case MethodKind::kMissing:
      m.duration = node.at("after").as_duration();
      break;
    case MethodKind::kAuto:
      m.threshold = AutoDetector::kThreshold;
      if (auto n = node.get("threshold")) {
        m.threshold = n->as_number();
        if (!(m.threshold > 0.0 && m.threshold <= 1.0)) n->fail("a number in (0, 1]");
      }
      break;
  }
  return m;
}

std::unique_ptr<MethodState> make_method_state(const MethodSpec& spec) {
  switch (spec.kind) {
    case MethodKind::kThreshold: return std::make_unique<ThresholdState>(spec);
    case MethodKind::kZScore: return std::make_unique<ZScoreState>(spec);
    case MethodKind::kEwma: return std::make_unique<EwmaState>(spec);
    case MethodKind::kMad: return std::make_unique<MadState>(spec);
    case MethodKind::kCusum: return std::make_unique<CusumState>(spec);
    case MethodKind::kRate: return std::make_unique<RateState>(spec);
    case MethodKind::kFlatline: return std::make_unique<FlatlineState>(spec);
    case MethodKind::kMissing: return nullptr;
    case MethodKind::kAuto: return std::make_unique<AutoState>(spec);
  }
  return nullptr;
}

// --- SampleWindow ----------------------------------------------------------------------

void SampleWindow::evict_before(TimeMs t) {
  if (span_ <= 0) return;
  bool removed = false;
  while (!items_.empty() && items_.front().first <= t - span_) {
    pop_front();
    removed = true;
  }
  if (removed) maybe_recompute();
}

void SampleWindow::pop_front() {
  const double d = items_.front().second - ref_;
  sum_ -= d;
  sum2_ -= d * d;
  items_.pop_front();
  ++changes_;
}

void SampleWindow::maybe_recompute() {
  if (changes_ >= items_.size() + 16 || !std::isfinite(sum_) || !std::isfinite(sum2_)) recompute();
}

void SampleWindow::add(TimeMs t, double x) {
  if (count_ > 0 && items_.size() >= count_) {
    while (items_.size() >= count_) pop_front();
    maybe_recompute();
  }
  if (items_.empty()) {
    ref_ = x;
    sum_ = sum2_ = 0.0;
    changes_ = 0;
  }
  items_.emplace_back(t, x);
  const double d = x - ref_;
  sum_ += d;
  sum2_ += d * d;
}

Value SampleWindow::save() const {
  // The running sums too, so a restored window computes bit for bit what the original would.
  Value items = Value::array();
  for (const auto& [t, x] : items_) items.push_back(tuple({Value(t), Value(x)}));
  return tuple({Value(ref_), Value(sum_), Value(sum2_), Value(static_cast<int64_t>(changes_)),
                std::move(items)});
}

bool SampleWindow::load(const Value& v) {
  if (!v.is_array() || v.size() != 5 || !v.at(4).is_array()) return false;
  for (size_t i = 0; i < 4; ++i) {
    if (!v.at(i).is_number()) return false;
  }
  const Value& items = v.at(4);
  items_.clear();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!is_tuple(items.at(i), 2)) {
      items_.clear();
      return false;
    }
    items_.emplace_back(i_at(items.at(i), 0), d_at(items.at(i), 1));
  }
  ref_ = d_at(v, 0);
  sum_ = d_at(v, 1);
  sum2_ = d_at(v, 2);
  changes_ = static_cast<size_t>(i_at(v, 3));
  return true;
}

void SampleWindow::recompute() {
  changes_ = 0;
  sum_ = sum2_ = 0.0;
  if (items_.empty()) return;
  ref_ = items_.front().second;
  for (const auto& [t, x] : items_) {
    const double d = x - ref_;
    sum_ += d;
    sum2_ += d * d;
  }
}

double SampleWindow::mean() const noexcept {
  if (items_.empty()) return 0.0;
  return ref_ + sum_ / static_cast<double>(items_.size());
}

double SampleWindow::stddev() const noexcept {
  const size_t n = items_.size();
  if (n < 2) return 0.0;
  const double dn = static_cast<double>(n);
  const double var = (sum2_ - sum_ * sum_ / dn) / (dn - 1.0);
  if (std::isnan(var)) return kInf;
  return var > 0.0 ? std::sqrt(var) : 0.0;
}

size_t SampleWindow::memory_bytes() const noexcept {
  return sizeof(*this) + items_.size() * sizeof(items_.front()) + 512;  // deque's map and block slack
}

}  // namespace weir::pipeline::detect
