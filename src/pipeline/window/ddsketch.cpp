#include "pipeline/window/ddsketch.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

namespace weir::pipeline {

namespace {

// The bins are built for an accuracy a hair below the advertised 0.01 (by one part in a
// million), so that the guarantee holds strictly in floating point too: a value exactly on
// a bin boundary (1.0 is one) is answered within 0.01 * (1 - 1e-6), not 0.01 plus rounding.
constexpr double kBinAccuracy = DDSketch::kRelativeAccuracy * (1.0 - 1e-6);
constexpr double kGamma = (1.0 + kBinAccuracy) / (1.0 - kBinAccuracy);
const double kLogGamma = std::log(kGamma);
const double kInverseLogGamma = 1.0 / kLogGamma;
// log(2 / (gamma + 1)): bin i answers gamma^i * 2 / (gamma + 1) = exp(i * log(gamma) + this).
const double kLogValueScale = std::log(2.0 / (kGamma + 1.0));

uint64_t add_saturating(uint32_t& bin, uint64_t n) noexcept {
  const uint64_t room = std::numeric_limits<uint32_t>::max() - bin;
  const uint64_t added = std::min(room, n);
  bin = static_cast<uint32_t>(bin + added);
  return added;
}

}  // namespace

int32_t DDSketch::index(double magnitude) noexcept {
  return static_cast<int32_t>(std::ceil(std::log(magnitude) * kInverseLogGamma));
}

double DDSketch::bin_value(int32_t index) noexcept {
  const double v = std::exp(static_cast<double>(index) * kLogGamma + kLogValueScale);
  return std::min(v, DBL_MAX);  // the top bin of the doubles reaches past DBL_MAX
}

void DDSketch::add(double x) noexcept {
  if (!std::isfinite(x)) return;
  if (x > 0) {
    positive_.add(index(x), 1);
  } else if (x < 0) {
    negative_.add(index(-x), 1);
  } else {
    ++zero_count_;
  }
}

void DDSketch::merge(const DDSketch& other) {
  if (&other == this) {
    DDSketch copy = other;
    merge(copy);
    return;
  }
  positive_.merge(other.positive_);
  negative_.merge(other.negative_);
  zero_count_ += other.zero_count_;
}

std::optional<double> DDSketch::quantile(double q) const noexcept {
  const uint64_t n = count();
  if (n == 0) return std::nullopt;
  if (!(q >= 0.0)) q = 0.0;  // NaN too
  if (q > 1.0) q = 1.0;
  auto rank = static_cast<uint64_t>(std::floor(q * static_cast<double>(n - 1)));
  rank = std::min(rank, n - 1);
  // Ascending order: negatives from the largest magnitude down, zeros, positives up.
  const uint64_t negatives = negative_.count();
  if (rank < negatives) return -bin_value(negative_.bin_of_rank(negatives - 1 - rank));
  rank -= negatives;
  if (rank < zero_count_) return 0.0;
  rank -= zero_count_;
  return bin_value(positive_.bin_of_rank(rank));
}

void DDSketch::Store::cover(int32_t lo, int32_t hi) {
  if (counts_.empty()) {
    offset_ = std::max(lo, hi - kMaxBins + 1);
    counts_.assign(static_cast<size_t>(hi - offset_ + 1), 0);
    return;
  }
  const int32_t cur_lo = offset_;
  const int32_t cur_hi = offset_ + static_cast<int32_t>(counts_.size()) - 1;
  const int32_t new_hi = std::max(hi, cur_hi);
  const int32_t new_lo = std::max(std::min(lo, cur_lo), new_hi - kMaxBins + 1);
  if (new_lo <= cur_lo) {
    // Growing only: at the top through resize (geometric), at the bottom by inserting.
    if (new_hi > cur_hi) counts_.resize(static_cast<size_t>(new_hi - cur_lo + 1), 0);
    if (new_lo < cur_lo) counts_.insert(counts_.begin(), static_cast<size_t>(cur_lo - new_lo), 0);
    offset_ = new_lo;
    return;
  }
  // The range would pass kMaxBins: every bin at or below new_lo folds into new_lo.
  std::vector<uint32_t> next(static_cast<size_t>(new_hi - new_lo + 1), 0);
  uint64_t dropped = 0;
  for (int32_t i = cur_lo; i <= cur_hi; ++i) {
    const uint32_t c = counts_[static_cast<size_t>(i - cur_lo)];
    if (c == 0) continue;
    if (i <= new_lo) {
      if (i < new_lo) collapsed_ = true;
      dropped += c - add_saturating(next[0], c);
    } else {
      next[static_cast<size_t>(i - new_lo)] = c;
    }
  }
  count_ -= dropped;
  counts_ = std::move(next);
  offset_ = new_lo;
}

void DDSketch::Store::add(int32_t index, uint64_t n) noexcept {
  if (counts_.empty() || index < offset_ ||
      index >= offset_ + static_cast<int32_t>(counts_.size())) {
    // Growing a vector of at most kMaxBins counters; an allocation failure here ends the
    // process like any other in weir.
    cover(index, index);
  }
  if (index < offset_) {
    index = offset_;
    collapsed_ = true;
  }
  count_ += add_saturating(counts_[static_cast<size_t>(index - offset_)], n);
}

void DDSketch::Store::merge(const Store& other) {
  collapsed_ = collapsed_ || other.collapsed_;
  if (other.count_ == 0) return;
  size_t first = 0;
  while (other.counts_[first] == 0) ++first;
  size_t last = other.counts_.size() - 1;
  while (other.counts_[last] == 0) --last;
  cover(other.offset_ + static_cast<int32_t>(first), other.offset_ + static_cast<int32_t>(last));
  for (size_t i = first; i <= last; ++i) {
    if (other.counts_[i] != 0) add(other.offset_ + static_cast<int32_t>(i), other.counts_[i]);
  }
}

int32_t DDSketch::Store::bin_of_rank(uint64_t rank) const noexcept {
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank) return offset_ + static_cast<int32_t>(i);
  }
  return offset_ + static_cast<int32_t>(counts_.size()) - 1;
}

Value DDSketch::save() const {
  Value v = Value::array();
  v.reserve(3);
  v.push_back(Value(static_cast<int64_t>(zero_count_)));
  v.push_back(positive_.save());
  v.push_back(negative_.save());
  return v;
}

bool DDSketch::load(const Value& saved) {
  if (!saved.is_array() || saved.size() != 3 || !saved.at(0).is_int() || saved.at(0).as_int() < 0) {
    return false;
  }
  zero_count_ = static_cast<uint64_t>(saved.at(0).as_int());
  return positive_.load(saved.at(1)) && negative_.load(saved.at(2));
}

Value DDSketch::Store::save() const {
  Value counts = Value::array();
  counts.reserve(counts_.size());
  for (uint32_t c : counts_) counts.push_back(Value(static_cast<int64_t>(c)));
  Value v = Value::array();
  v.reserve(3);
  v.push_back(Value(static_cast<int64_t>(offset_)));
  v.push_back(Value(collapsed_));
  v.push_back(std::move(counts));
  return v;
}

bool DDSketch::Store::load(const Value& saved) {
  // Bins of finite doubles lie within about +-37,000; far beyond, the index arithmetic
  // could overflow.
  constexpr int64_t kMaxOffset = 1 << 20;
  if (!saved.is_array() || saved.size() != 3) return false;
  const Value& offset = saved.at(0);
  const Value& collapsed = saved.at(1);
  const Value& counts = saved.at(2);
  if (!offset.is_int() || offset.as_int() < -kMaxOffset || offset.as_int() > kMaxOffset ||
      !collapsed.is_bool() || !counts.is_array() || counts.size() > static_cast<size_t>(kMaxBins)) {
    return false;
  }
  offset_ = static_cast<int32_t>(offset.as_int());
  collapsed_ = collapsed.as_bool();
  counts_.assign(counts.size(), 0);
  count_ = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const Value& c = counts.at(i);
    if (!c.is_int() || c.as_int() < 0 || c.as_int() > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    counts_[i] = static_cast<uint32_t>(c.as_int());
    count_ += counts_[i];  // what add() and cover() keep it at
  }
  return true;
}

}  // namespace weir::pipeline
