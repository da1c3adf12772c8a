#include "core/rfc3339.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace std::chrono;

TEST_CASE("format_rfc3339: UTC, whole seconds, or milliseconds on request; parse_rfc3339 reads it back")
{
    const system_clock::time_point tp{milliseconds(1714658738104)};
    CHECK(format_rfc3339(tp) == "2024-05-02T14:05:38Z");
    CHECK(format_rfc3339(tp, true) == "2024-05-02T14:05:38.104Z");
    CHECK(format_rfc3339(system_clock::time_point{seconds(1714658738)}, true) == "2024-05-02T14:05:38.000Z");
    CHECK(parse_rfc3339(format_rfc3339(tp, true)) == tp);
    CHECK(parse_rfc3339(format_rfc3339(tp)) == time_point_cast<seconds>(tp));
}
