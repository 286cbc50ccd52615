#include "pipeline/detect/auto_detector.hpp"

namespace weir::pipeline::detect {

double AutoDetector::update(int64_t t_ms, double x) noexcept {
  (void)t_ms;
  low_ = x;
  high_ = x;
  return 0.0;
}

}  // namespace weir::pipeline::detect
