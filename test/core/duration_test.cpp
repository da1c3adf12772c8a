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

TEST_CASE("format_duration round-trips")
{
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(90s) == "1m30s");
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(1h) == "1h");
}
