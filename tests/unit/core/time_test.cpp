#include <gtest/gtest.h>

#include "weir/time.hpp"

namespace weir {
namespace {

TEST(Time, FormatsIsoWithMilliseconds) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1767225600123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(253402300800000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(-62135596800000), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1700000000042 + 13 * 3600000 + 7 * 60000 + 9000), "2023-11-15T11:20:29.042Z");
}

TEST(Time, ParsesIsoVariants) {
  struct Case { const char* text; TimeMs want; };
  const Case good[] = {
      {"2026-01-01T00:00:00Z", 1767225600000},
      {"2026-01-01T00:00:00.123Z", 1767225600123},
      {"2026-01-01T00:00:00.1234567Z", 1767225600123},
      {"2026-01-01 01:00:00+01:00", 1767225600000},
      {"2026-01-01T00:00:00-0130", 1767231000000},
      {"2026-01-01T00:00", 1767225600000},
      {"2026-01-01", 1767225600000},
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"1969-12-31T23:59:59.999Z", -1},
  };
  for (const auto& c : good) {
    auto t = parse_iso8601(c.text);
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(*t, c.want) << c.text;
  }
  const char* bad[] = {"", "2026", "2026-13-01", "2025-02-29", "2026-01-01T25:00:00Z",
                       "2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00.Z", "yesterday",
                       "2026-01-01T00:00:00+1", "2026/01/01"};
  for (const char* b : bad) EXPECT_FALSE(parse_iso8601(b).has_value()) << b;
}

TEST(Time, RoundTripsAcrossCenturies) {
  for (TimeMs t = -2208988800000; t < 4102444800000; t += int64_t{86399999} * 37 + 12345) {
    auto back = parse_iso8601(format_iso8601(t));
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(*back, t);
  }
}

TEST(Time, FloorDivRoundsDown) {
  EXPECT_EQ(floor_div(7, 2), 3);
  EXPECT_EQ(floor_div(-7, 2), -4);
  EXPECT_EQ(floor_div(-8, 2), -4);
  EXPECT_EQ(floor_div(0, 5), 0);
}

TEST(Time, ManualClockMovesOnlyWhenTold) {
  ManualClock c(100);
  EXPECT_EQ(c.now(), 100);
  c.advance(50);
  EXPECT_EQ(c.now(), 150);
  c.set(10);
  EXPECT_EQ(c.now(), 10);
}

}  // namespace
}  // namespace weir
