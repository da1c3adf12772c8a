#include "core/duration.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace std::chrono_literals;

TEST_CASE("parse_duration accepts the config forms")
{
    CHECK(parse_duration("250ms").value() == 250ms);
    CHECK(parse_duration("30s").value() == 30s);
    CHECK(parse_duration("5m").value() == 5min);
    CHECK(parse_duration("1h").value() == 1h);
    CHECK(parse_duration("1m30s").value() == 90s);
    CHECK(parse_duration("0s").value() == 0ms);
}

TEST_CASE("parse_duration rejects with a message naming the accepted forms")
{
    for (const char* bad : {"", "5", "-5s", "5x", "s", "1.5s", "99999999999999999999h"})
    {
        auto r = parse_duration(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_argument);
        CHECK(r.error().message.find("\"30s\"") != std::string::npos);
    }
}

TEST_CASE("parse_duration rejects durations past the maximum, whose deadlines would overflow")
{
    // A steady_clock deadline is now() plus the duration in nanoseconds: 100000000h is 3.6e20 ns,
    // past the 9.2e18 an int64 holds.
    for (const char* bad : {"100000000h", "9223372036854775807s", "99999999999999999999ms", "8761h", "8760h1ms"})
    {
        auto r = parse_duration(bad);
        REQUIRE_MESSAGE(!r.has_value(), bad);
        CHECK(r.error().code == errc::invalid_argument);
        CHECK_MESSAGE(r.error().message.find("at most 8760h") != std::string::npos, r.error().message);
    }
    CHECK(parse_duration("8760h").value() == 8760h);
    CHECK(parse_duration("525600m").value() == 8760h);
}

TEST_CASE("format_duration round-trips")
{
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(90s) == "1m30s");
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(1h) == "1h");
}
