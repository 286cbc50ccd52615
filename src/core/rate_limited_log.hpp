// Logging of bad input at a limited rate: at most `burst` lines per reason per interval,
// then one line saying how many were suppressed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "weir/time.hpp"

namespace weir::core {

class RateLimitedLog {
 public:
  explicit RateLimitedLog(uint32_t burst = 5, TimeMs interval = 10000)
      : burst_(burst), interval_(interval) {}
  // Logs a warning "reason: message" unless this reason already used its burst in the
  // current interval. Returns true when it logged.
  bool warn(TimeMs now, std::string_view reason, std::string_view message);

 private:
  struct Slot {
    TimeMs window_start = 0;
    uint32_t logged = 0;
    uint64_t suppressed = 0;
  };
  uint32_t burst_;
  TimeMs interval_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace weir::core
