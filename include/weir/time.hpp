// Time in weir: epoch milliseconds, ISO 8601 text, and clocks the engine hands in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weir {

// Milliseconds since the Unix epoch, UTC.
using TimeMs = int64_t;
inline constexpr TimeMs kMinTime = INT64_MIN / 4;
inline constexpr TimeMs kMaxTime = INT64_MAX / 4;

// "2026-11-21T05:26:56.123Z"
std::string format_iso8601(TimeMs t);
void append_iso8601(std::string& out, TimeMs t);
// Accepts "YYYY-MM-DD", "YYYY-MM-DDThh:mm[:ss[.fff...]]" with "T" or a space, and an
// optional "Z" or "+hh:mm" / "-hhmm" offset (no offset means UTC).
std::optional<TimeMs> parse_iso8601(std::string_view s);

// floor division that rounds towards negative infinity (window starts before 1970).
constexpr int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// The engine's source of processing time. Operators never read the wall clock; the
// engine reads a Clock and hands the time in, so tests can drive time by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs now() const override;
};

// Processing time for a long-running process: the wall clock read once at start, moved on
// by the monotonic clock, so a step of the system clock (NTP, an RTC correction) neither
// freezes timers nor fires them all at once.
class SteadyWallClock final : public Clock {
 public:
  SteadyWallClock();
  TimeMs now() const override;

 private:
  TimeMs wall_at_start_;
  int64_t steady_at_start_ns_;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 0) : now_(start) {}
  TimeMs now() const override { return now_; }
  void set(TimeMs t) { now_ = t; }
  void advance(TimeMs d) { now_ += d; }

 private:
  TimeMs now_;
};

}  // namespace weir
