// Rollout decisions on values: waves, halting, the bad-image memory and min_age.
#include "refresh/rollout.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::refresh;
using namespace std::chrono;

namespace {

std::vector<candidate> cands(int n)
{
    std::vector<candidate> c;
    for (int i = 0; i < n; ++i)
        c.push_back({"id" + std::to_string(i), "ws-" + std::to_string(i), "", true});
    return c;
}

std::vector<planned_swap> all_steps(std::size_t n)
{
    std::vector<planned_swap> s;
    for (std::size_t i = 0; i < n; ++i)
        s.push_back({i, false});
    return s;
}

std::vector<std::vector<std::size_t>> shape(const std::vector<wave>& w)
{
    std::vector<std::vector<std::size_t>> out;
    for (const auto& x : w)
        out.push_back(x.steps);
    return out;
}

}  // namespace

TEST_CASE("one canary, then waves of parallelism")
{
    auto w = plan_waves(all_steps(10), cands(10), 1, 4);
    REQUIRE(w.size() == 4);
    CHECK(w[0].canary);
    CHECK_FALSE(w[1].canary);
    CHECK(shape(w) == std::vector<std::vector<std::size_t>>{{0}, {1, 2, 3, 4}, {5, 6, 7, 8}, {9}});
}

TEST_CASE("canaries beyond parallelism are split; no canary starts with a full wave")
{
    auto w = plan_waves(all_steps(7), cands(7), 3, 2);
    CHECK(shape(w) == std::vector<std::vector<std::size_t>>{{0, 1}, {2}, {3, 4}, {5, 6}});
    CHECK(w[1].canary);
    CHECK_FALSE(w[2].canary);
    auto z = plan_waves(all_steps(3), cands(3), 0, 8);
    CHECK(shape(z) == std::vector<std::vector<std::size_t>>{{0, 1, 2}});
    CHECK_FALSE(z[0].canary);
    CHECK(plan_waves({}, {}, 1, 4).empty());
    CHECK(shape(plan_waves(all_steps(2), cands(2), 1, 1)) == std::vector<std::vector<std::size_t>>{{0}, {1}});
}

TEST_CASE("a network dependant waits for the wave after its parent's")
{
    auto c = cands(4);
    c[2].network_parent = "ws-1";  // step 2 lives in ws-1's namespace
    auto w = plan_waves(all_steps(4), c, 1, 4);
    CHECK(shape(w) == std::vector<std::vector<std::size_t>>{{0}, {1}, {2, 3}});
    c[2].network_parent = "ws-0";  // the canary's dependant: already in a later wave
    CHECK(shape(plan_waves(all_steps(4), c, 1, 4)) == std::vector<std::vector<std::size_t>>{{0}, {1, 2, 3}});
}

TEST_CASE("halting: any canary failure; after it, a ratio above max_failures")
{
    wave canary{{0}, true};
    wave batch{{1, 2, 3, 4}, false};
    CHECK_FALSE(wave_halts(canary, 0, 0.2));
    CHECK(wave_halts(canary, 1, 1.0));
    CHECK_FALSE(wave_halts(batch, 0, 0.0));
    CHECK(wave_halts(batch, 1, 0.0));
    CHECK_FALSE(wave_halts(batch, 1, 0.25));  // 1/4 is not above 0.25
    CHECK(wave_halts(batch, 2, 0.25));
    CHECK_FALSE(wave_halts(batch, 4, 1.0));  // 1.0: never halts after the canary
}

TEST_CASE("bad images: per runtime, by image, cleared by a good rollout")
{
    bad_images b;
    CHECK_FALSE(b.is_bad("a", "sha256:1"));
    b.mark("a", "sha256:1");
    CHECK(b.is_bad("a", "sha256:1"));
    CHECK_FALSE(b.is_bad("a", "sha256:2"));  // a newer image is tried
    CHECK_FALSE(b.is_bad("b", "sha256:1"));  // another runtime is not affected
    CHECK(b.bad("a") == "sha256:1");
    b.mark("a", "sha256:2");
    CHECK_FALSE(b.is_bad("a", "sha256:1"));
    b.clear("a");
    CHECK_FALSE(b.bad("a"));
}

TEST_CASE("min_age: wait until created + min_age; unknown creation or zero min_age applies")
{
    const auto now = system_clock::time_point(sys_days(year(2026) / December / 7) + hours(12));
    CHECK_FALSE(min_age_wait(now - hours(2), hours(1), now));
    CHECK_FALSE(min_age_wait(now - hours(1), hours(1), now));  // exactly old enough
    CHECK(min_age_wait(now - minutes(10), hours(1), now) == now + minutes(50));
    CHECK_FALSE(min_age_wait(std::nullopt, hours(1), now));
    CHECK_FALSE(min_age_wait(now, milliseconds(0), now));
    CHECK(min_age_wait(now + hours(1), hours(1), now) == now + hours(2));  // a clock ahead of ours still waits
}

TEST_CASE("state names as /admin/status shows them")
{
    CHECK(to_string(rollout_state::pending_window) == "pending_window");
    CHECK(to_string(rollout_state::deferred_until) == "deferred_until");
    CHECK(to_string(rollout_state::in_progress) == "in_progress");
    CHECK(to_string(rollout_state::halted) == "halted");
    CHECK(to_string(rollout_state::done) == "done");
}
