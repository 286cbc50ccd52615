#include "weir/time.hpp"

#include <chrono>
#include <cstdio>

namespace weir {
namespace {

// Howard Hinnant's civil-date algorithms (public domain).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

void append_iso8601(std::string& out, TimeMs t) {
  int64_t days = floor_div(t, 86400000);
  int64_t ms_of_day = t - days * 86400000;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y >= 0 && y <= 9999) {
    // The common case, without snprintf (dead letters and every window result format
    // timestamps): "YYYY-MM-DDTHH:MM:SS.mmmZ".
    const auto ms = static_cast<unsigned>(ms_of_day);
    const unsigned fields[] = {static_cast<unsigned>(y), m, d, ms / 3600000, ms / 60000 % 60,
                               ms / 1000 % 60, ms % 1000};
    constexpr int kWidth[] = {4, 2, 2, 2, 2, 2, 3};
    constexpr char kAfter[] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char buf[24];
    char* p = buf;
    for (int i = 0; i < 7; ++i) {
      unsigned v = fields[i];
      for (int k = kWidth[i] - 1; k >= 0; --k) {
        p[k] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
      p += kWidth[i];
      *p++ = kAfter[i];
    }
    out.append(buf, static_cast<size_t>(p - buf));
    return;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                        static_cast<long long>(y), m, d,
                        static_cast<int>(ms_of_day / 3600000),
                        static_cast<int>(ms_of_day / 60000 % 60),
                        static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
  out.append(buf, static_cast<size_t>(n));
}

std::string format_iso8601(TimeMs t) {
  std::string s;
  append_iso8601(s, t);
  return s;
}

std::optional<TimeMs> parse_iso8601(std::string_view s) {
  int year, mon, day;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mon) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mon < 1 || mon > 12 || day < 1 ||
      day > kDays[mon - 1] + ((mon == 2 && leap(year)) ? 1 : 0)) {
    return std::nullopt;
  }
  int64_t ms = days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) *
               86400000;
  size_t pos = 10;
  if (pos == s.size()) return ms;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hh, mm, ss = 0;
  if (!digits(s, pos, 2, hh) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !digits(s, pos + 3, 2, mm)) {
    return std::nullopt;
  }
  pos += 5;
  int frac_ms = 0;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, ss)) return std::nullopt;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t start = pos;
      int scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        frac_ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  ms += hh * 3600000LL + mm * 60000LL + ss * 1000LL + frac_ms;
  if (pos == s.size()) return ms;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional<TimeMs>(ms) : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  int sign = s[pos] == '+' ? 1 : -1;
  int oh, om = 0;
  if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
  pos += 3;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!digits(s, pos, 2, om)) return std::nullopt;
    pos += 2;
  }
  if (pos != s.size() || oh > 23 || om > 59) return std::nullopt;
  return ms - sign * (oh * 3600000LL + om * 60000LL);
}

TimeMs SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

SteadyWallClock::SteadyWallClock()
    : wall_at_start_(SystemClock().now()),
      steady_at_start_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count()) {}

TimeMs SteadyWallClock::now() const {
  int64_t elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count() -
                       steady_at_start_ns_;
  return wall_at_start_ + elapsed_ns / 1000000;
}

}  // namespace weir
