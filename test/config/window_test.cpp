// Rollout windows: parsing and evaluation at fixed instants.
#include "config/window.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::config;
using namespace std::chrono;

namespace {

// 2026-12-07 is a Monday.
system_clock::time_point at(int day, int hour, int minute)
{
    return system_clock::time_point(sys_days(year(2026) / December / day) + hours(hour) + minutes(minute));
}

window w(std::string_view text) { return parse_window(text).value(); }

}  // namespace

TEST_CASE("days, times and zone")
{
    auto x = w("Mon-Fri 02:00-05:00 UTC");
    CHECK(x.days == 0x1f);
    CHECK(x.start == 120);
    CHECK(x.end == 300);
    CHECK(x.offset == 0);
    CHECK(w("Sat,Sun 00:00-24:00 Z").days == 0x60);
    CHECK(w("fri-mon 10:00-11:00 utc").days == (0x10 | 0x20 | 0x40 | 0x01));
    CHECK(w("10:00-11:00 -05:30").offset == -330);
    CHECK(w("10:00-11:00 UTC+02:00").offset == 120);
    CHECK(w("10:00-11:00 UTC").days == 0x7f);
}

TEST_CASE("malformed windows are refused with the accepted form")
{
    for (auto bad :
         {"", "UTC", "02:00-05:00", "Mon-Fri 2:00-05:00 UTC", "Mon-Fri 02:00-25:00 UTC", "Mon-Fri 02:60-03:00 UTC",
          "Mon-Frx 02:00-05:00 UTC", "02:00-05:00 +15:00", "02:00-05:00 CET", "a b c d"})
        CHECK_MESSAGE(!parse_window(bad), bad);
    CHECK(parse_window("Mon-Fri 02:00-05:00 Europe/Berlin").error().message.find("named zones are not supported") !=
          std::string::npos);
    CHECK(parse_window("Mo 02:00-05:00 UTC").error().message.find("unknown day") != std::string::npos);
}

TEST_CASE("open inside, closed outside, end exclusive, weekdays only")
{
    auto x = w("Mon-Fri 02:00-05:00 UTC");
    CHECK_FALSE(window_open(x, at(7, 1, 59)));
    CHECK(window_open(x, at(7, 2, 0)));
    CHECK(window_open(x, at(7, 4, 59)));
    CHECK_FALSE(window_open(x, at(7, 5, 0)));
    CHECK_FALSE(window_open(x, at(12, 3, 0)));  // Saturday
    CHECK(window_open(x, at(11, 3, 0)));        // Friday
}

TEST_CASE("a fixed offset shifts the window: 02:00-05:00 at +02:00 is 00:00-03:00 UTC")
{
    auto x = w("Mon 02:00-05:00 +02:00");
    CHECK(window_open(x, at(7, 0, 0)));
    CHECK(window_open(x, at(7, 2, 59)));
    CHECK_FALSE(window_open(x, at(7, 3, 0)));
    CHECK(window_open(x, at(6, 23, 0)) == false);  // Sunday 23:00 UTC is Monday 01:00 local: before the start
    auto y = w("Mon 00:30-01:30 -01:00");          // Monday 01:30-02:30 UTC
    CHECK(window_open(y, at(7, 1, 30)));
    CHECK_FALSE(window_open(y, at(7, 0, 45)));
}

TEST_CASE("past midnight: belongs to the day it opens on")
{
    auto x = w("Sat 22:00-02:00 UTC");
    CHECK(window_open(x, at(12, 23, 0)));  // Saturday night
    CHECK(window_open(x, at(13, 1, 0)));   // Sunday early, still Saturday's window
    CHECK_FALSE(window_open(x, at(13, 2, 0)));
    CHECK_FALSE(window_open(x, at(13, 23, 0)));  // Sunday night: not allowed
    CHECK_FALSE(window_open(x, at(12, 1, 0)));   // Saturday early belongs to Friday
}

TEST_CASE("next opening")
{
    auto x = w("Mon-Fri 02:00-05:00 UTC");
    CHECK(window_next_open(x, at(7, 3, 0)) == at(7, 3, 0));  // open now
    CHECK(window_next_open(x, at(7, 6, 0)) == at(8, 2, 0));
    CHECK(window_next_open(x, at(11, 6, 0)) == at(14, 2, 0));  // Friday after the window -> Monday
    CHECK(window_next_open(w("02:00-03:00 +02:00"), at(7, 6, 0)) == at(8, 0, 0));
}
