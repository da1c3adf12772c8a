#include "core/repeat_filter.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace std::chrono_literals;

TEST_CASE("repeat_filter: once per text, again when it changes or after the period")
{
    repeat_filter f(10min);
    const auto t0 = repeat_filter::clock::time_point{} + 1h;
    CHECK(f.should_log("no socket", t0));
    CHECK_FALSE(f.should_log("no socket", t0 + 1s));
    CHECK_FALSE(f.should_log("no socket", t0 + 9min));
    CHECK(f.should_log("permission denied", t0 + 9min + 1s));  // a new cause is said at once
    CHECK_FALSE(f.should_log("permission denied", t0 + 10min));
    CHECK(f.should_log("permission denied", t0 + 19min + 1s));  // still failing: a reminder
    CHECK_FALSE(f.should_log("permission denied", t0 + 20min));
    f.reset();
    CHECK(f.should_log("permission denied", t0 + 20min));  // it recovered and failed again
}
