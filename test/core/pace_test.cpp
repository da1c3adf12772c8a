#include "core/pace.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace imagewatch;
using namespace std::chrono_literals;

namespace {

// The times (ms since start) at which a pace of `every` reports when asked at each of `asks_ms`.
std::vector<int> reports(std::chrono::milliseconds every, const std::vector<int>& asks_ms)
{
    const pace::clock::time_point start{};
    pace p(start, every);
    std::vector<int> out;
    for (int ms : asks_ms)
        if (p.due(start + std::chrono::milliseconds(ms)))
            out.push_back(ms);
    return out;
}

}  // namespace

TEST_CASE("pace: quiet during the first period, then once per period however often asked")
{
    std::vector<int> asks;
    for (int ms = 0; ms <= 16'000; ms += 100)  // a busy stream: asked ten times a second
        asks.push_back(ms);
    CHECK(reports(5s, asks) == std::vector<int>{5'000, 10'000, 15'000});
}

TEST_CASE("pace: work shorter than a period never reports") { CHECK(reports(5s, {0, 1'000, 2'000, 4'999}).empty()); }

TEST_CASE("pace: a late ask reports once, not once per missed period, and restarts the period")
{
    // Nothing asked between 1 s and 23 s (a stalled stream): one report at 23 s, the next 5 s later.
    CHECK(reports(5s, {1'000, 23'000, 23'500, 27'900, 28'000, 28'500}) == std::vector<int>{23'000, 28'000});
}
