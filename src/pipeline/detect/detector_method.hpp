// The methods of $detect: what each is configured with (MethodSpec, immutable after build)
// and the state it keeps per series (MethodState: plain members, what a checkpoint saves).
// A method judges one reading at a time against what came before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "config/node.hpp"
#include "pipeline/detect/auto_detector.hpp"
#include "weir/value.hpp"
#include "weir/time.hpp"

namespace weir::pipeline::detect {

enum class MethodKind : uint8_t {
  kThreshold, kZScore, kEwma, kMad, kCusum, kRate, kFlatline, kMissing, kAuto
};

std::string_view method_name(MethodKind kind) noexcept;

// How a method's verdicts become alerts.
struct AlertPolicy {
  uint32_t raise_after = 1;   // consecutive anomalous readings before an alert is raised
  uint32_t clear_after = 1;   // consecutive normal readings before it clears ...
  TimeMs clear_for = 0;       // ... or, when > 0, normal readings for this long instead
  TimeMs cooldown = 0;        // after a clear, no new raise for this long (event time)
  std::string severity = "warning";
};

struct MethodSpec {
  MethodKind kind = MethodKind::kAuto;
  double min = -std::numeric_limits<double>::infinity();  // threshold
  double max = std::numeric_limits<double>::infinity();   // threshold
  TimeMs duration = 0;         // threshold "for", flatline "for", missing "after"
  double threshold = 3.0;      // zscore, ewma, mad (deviations); auto (score)
  size_t window = 0;           // zscore, mad: readings (0: use span)
  TimeMs span = 0;             // zscore, mad: time span
  size_t min_samples = 10;     // zscore, ewma, mad, cusum
  double alpha = 0.1;          // ewma
  double k = 0.5;              // cusum (in deviations)
  double h = 5.0;              // cusum (in deviations)
  double max_per_second = 0;   // rate
  double epsilon = 0;          // flatline
  AlertPolicy alert;
};

// Parses one entry of "methods" ({"zscore": {...}}: name is the key, node its value).
// defaults: the stage-level alert options. Throws config::ConfigError naming the path.
MethodSpec parse_method(std::string_view name, const config::Node& node, const AlertPolicy& defaults);
// The stage-level alert options (raiseAfter, clearAfter, cooldown, severity) of node,
// over fallback.
AlertPolicy parse_alert_policy(const config::Node& node, AlertPolicy fallback);

// One method's verdict on one reading.
struct Judgement {
  bool judged = false;     // false: not enough history yet, or nothing to judge
  bool anomalous = false;
  double score = 0.0;      // in [0, 1]; 0.5 at the method's threshold
  double low = std::numeric_limits<double>::quiet_NaN();   // expected band, NaN when none
  double high = std::numeric_limits<double>::quiet_NaN();
};

// Maps a measure of "how far past the limit" (measure / limit; 1 at the limit) to [0, 1).
double ratio_score(double ratio) noexcept;

class MethodState {
 public:
  virtual ~MethodState() = default;
  // Judges x (finite) at event time t, then takes it into the state.
  virtual Judgement update(TimeMs t, double x) = 0;
  virtual size_t memory_bytes() const noexcept = 0;
  // The state as a Value (for checkpoints), and back. load() answers false, leaving the
  // state fresh, when the Value does not have this method's shape.
  virtual Value save() const = 0;
  virtual bool load(const Value& v) = 0;
};

// A fresh state for spec; nullptr for "missing" (a timer the stage keeps itself).
std::unique_ptr<MethodState> make_method_state(const MethodSpec& spec);

// The last readings (by count or by time span) with their running sums, for zscore and
// mad. Sums are kept relative to a reference value and recomputed from the readings
// regularly and whenever they stop being finite, so a huge value cannot poison them after
// it has left the window.
class SampleWindow {
 public:
  SampleWindow(size_t count, TimeMs span) : count_(count), span_(span) {}
  // Drops readings older than the time span once a reading at t arrives (a count window
  // makes room in add()).
  void evict_before(TimeMs t);
  void add(TimeMs t, double x);
  size_t size() const noexcept { return items_.size(); }
  double mean() const noexcept;
  // Sample standard deviation (n - 1); 0 for fewer than two readings.
  double stddev() const noexcept;
  const std::deque<std::pair<TimeMs, double>>& items() const noexcept { return items_; }
  // [ref, sum, sum2, changes, [[t, x], ...]] (readings in arrival order).
  Value save() const;
  bool load(const Value& v);
  size_t memory_bytes() const noexcept;

 private:
  void pop_front();
  void maybe_recompute();
  void recompute();
  size_t count_;
  TimeMs span_;
  std::deque<std::pair<TimeMs, double>> items_;
  double ref_ = 0.0;
  double sum_ = 0.0;   // sum of (x - ref_)
  double sum2_ = 0.0;  // sum of (x - ref_)^2
  size_t changes_ = 0;
};

}  // namespace weir::pipeline::detect
