#include "core/rate_limited_log.hpp"

#include <spdlog/spdlog.h>

namespace weir::core {

bool RateLimitedLog::warn(TimeMs now, std::string_view reason, std::string_view message) {
  auto it = slots_.find(std::string(reason));
  if (it == slots_.end()) it = slots_.emplace(std::string(reason), Slot{now, 0, 0}).first;
  Slot& slot = it->second;
  if (now - slot.window_start >= interval_) {
    if (slot.suppressed > 0) {
      spdlog::warn("{}: {} more like this suppressed in the last {} s", reason, slot.suppressed,
                   interval_ / 1000);
    }
    slot = Slot{now, 0, 0};
  }
  if (slot.logged >= burst_) {
    ++slot.suppressed;
    return false;
  }
  ++slot.logged;
  spdlog::warn("{}: {}", reason, message);
  return true;
}

}  // namespace weir::core
