// DDSketch: a mergeable quantile sketch with relative-error guarantees (Masson, Rim and Lee,
// "DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees",
// VLDB 2019). Backs $median and $percentile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "weir/value.hpp"

namespace weir::pipeline {

// Counts of values by logarithmic bin: a value x > 0 goes to bin ceil(log_gamma(x)), which
// holds (gamma^(i-1), gamma^i]; the bin answers 2 * gamma^i / (gamma + 1), within
// kRelativeAccuracy of everything in it. Negative values are binned by magnitude in a store
// of their own, zeros are counted apart. Each store keeps at most kMaxBins dense bins; beyond
// that its lowest-magnitude bins collapse into one (those values lose the guarantee, the
// others keep it). Non-finite values are ignored.
class DDSketch {
 public:
  // The guarantee: while nothing has collapsed, quantile(q) is within this relative error
  // of the exact value of rank floor(q * (n - 1)).
  static constexpr double kRelativeAccuracy = 0.01;
  static constexpr int32_t kMaxBins = 2048;  // per store (per sign)

  // Adds one value; NaN and infinities are ignored.
  void add(double x) noexcept;
  // this := the sketch of this sketch's values and other's.
  void merge(const DDSketch& other);
  // Number of values held (zeros and both signs).
  uint64_t count() const noexcept { return zero_count_ + positive_.count() + negative_.count(); }
  bool empty() const noexcept { return count() == 0; }
  // The estimate of the value of 0-based rank floor(q * (n - 1)) among the n values held;
  // nullopt when empty. q is clamped to [0, 1].
  std::optional<double> quantile(double q) const noexcept;

  // Bins in use per store, and whether a store ever collapsed (tests, diagnostics).
  size_t positive_bins() const noexcept { return positive_.bins(); }
  size_t negative_bins() const noexcept { return negative_.bins(); }
  bool collapsed() const noexcept { return positive_.collapsed() || negative_.collapsed(); }
  // Heap memory owned beyond sizeof(DDSketch).
  size_t heap_bytes() const noexcept { return positive_.heap_bytes() + negative_.heap_bytes(); }

  // The whole sketch for a checkpoint: [zeroCount, positive, negative], each store
  // [offset, collapsed, [counts...]] with its dense counts as they are (zeros included: the
  // range decides what collapses next). load() takes what save() wrote into an empty
  // sketch; false (the sketch unspecified) for anything else.
  Value save() const;
  bool load(const Value& saved);

  // The bin of a positive finite magnitude, and the value a bin answers with.
  static int32_t index(double magnitude) noexcept;
  static double bin_value(int32_t index) noexcept;

 private:
  // Dense counts for bins offset_ .. offset_ + counts_.size() - 1.
  class Store {
   public:
    void add(int32_t index, uint64_t n) noexcept;
    void merge(const Store& other);
    uint64_t count() const noexcept { return count_; }
    size_t bins() const noexcept { return counts_.size(); }
    bool collapsed() const noexcept { return collapsed_; }
    size_t heap_bytes() const noexcept { return counts_.capacity() * sizeof(uint32_t); }
    // The bin holding the value of 0-based rank `rank` counting from the lowest bin
    // (rank < count()).
    int32_t bin_of_rank(uint64_t rank) const noexcept;
    Value save() const;
    bool load(const Value& saved);

   private:
    // Makes the dense range cover [lo, hi], collapsing below hi - kMaxBins + 1.
    void cover(int32_t lo, int32_t hi);
    int32_t offset_ = 0;
    bool collapsed_ = false;
    uint64_t count_ = 0;
    std::vector<uint32_t> counts_;
  };

  Store positive_;
  Store negative_;  // by magnitude
  uint64_t zero_count_ = 0;
};

}  // namespace weir::pipeline
