// Rollout decisions on values: the sliding window, halting, the bad-image memory and min_age.
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

// Every step next() hands out now, in order.
std::vector<std::size_t> take(rollout_window& w)
{
    std::vector<std::size_t> out;
    while (auto s = w.next())
        out.push_back(*s);
    return out;
}

using steps = std::vector<std::size_t>;

}  // namespace

TEST_CASE("one canary, then a window of parallelism that refills as each swap finishes")
{
    rollout_window w(all_steps(10), cands(10), 1, 4, 0.2);
    CHECK(take(w) == steps{0});  // the canary alone
    w.finished(0, false);
    CHECK(w.canaries_done());
    CHECK(take(w) == steps{1, 2, 3, 4});
    w.finished(3, false);  // one slot free: the next starts while 1, 2 and 4 still run
    CHECK(take(w) == steps{5});
    CHECK(w.in_flight() == 4);
    for (std::size_t s : steps{1, 2, 4, 5})
        w.finished(s, false);
    CHECK(take(w) == steps{6, 7, 8, 9});
    for (std::size_t s : steps{6, 7, 8, 9})
        w.finished(s, false);
    CHECK(take(w).empty());
    CHECK_FALSE(w.halted());
}

TEST_CASE("canaries beyond parallelism slide too; nothing else starts before every canary finished")
{
    rollout_window w(all_steps(7), cands(7), 3, 2, 0.2);
    CHECK(take(w) == steps{0, 1});
    w.finished(1, false);
    CHECK(take(w) == steps{2});  // the third canary
    w.finished(2, false);
    CHECK(take(w).empty());  // a slot is free, but canary 0 still runs
    w.finished(0, false);
    CHECK(take(w) == steps{3, 4});

    rollout_window none(all_steps(3), cands(3), 0, 8, 0.2);
    CHECK(take(none) == steps{0, 1, 2});
    rollout_window empty({}, {}, 1, 4, 0.2);
    CHECK_FALSE(empty.next());
    rollout_window more_canaries_than_steps(all_steps(2), cands(2), 5, 1, 0.2);
    CHECK(take(more_canaries_than_steps) == steps{0});
    more_canaries_than_steps.finished(0, false);
    CHECK(take(more_canaries_than_steps) == steps{1});
}

TEST_CASE("a network dependant starts only once its parent's swap finished")
{
    auto c = cands(4);
    c[2].network_parent = "ws-1";
    rollout_window w(all_steps(4), c, 1, 4, 1.0);
    CHECK(take(w) == steps{0});
    w.finished(0, false);
    CHECK(take(w) == steps{1});  // 2 waits for 1, and 3 waits its turn behind 2
    w.finished(1, true);         // a failed parent is restored: its dependant is recreated anyway
    CHECK(take(w) == steps{2, 3});

    auto d = cands(3);
    d[1].network_parent = "ws-0";  // the canary's dependant
    rollout_window v(all_steps(3), d, 1, 4, 1.0);
    CHECK(take(v) == steps{0});
    v.finished(0, false);
    CHECK(take(v) == steps{1, 2});
}

TEST_CASE("halting: any canary failure; after it, a failure ratio above max_failures in the last batch")
{
    rollout_window canary(all_steps(5), cands(5), 1, 4, 1.0);
    take(canary);
    canary.finished(0, true);
    CHECK(canary.halted());
    CHECK(take(canary).empty());  // nothing else is touched

    // max_failures 0.25 over batches of 4: one failure in four passes, two halt at once.
    rollout_window w(all_steps(12), cands(12), 1, 4, 0.25);
    take(w);
    w.finished(0, false);
    CHECK(take(w) == steps{1, 2, 3, 4});
    w.finished(1, true);
    CHECK_FALSE(w.halted());
    CHECK(take(w) == steps{5});
    w.finished(2, true);  // two failures among the last four finished: above 0.25 already
    CHECK(w.halted());
    CHECK(take(w).empty());
    CHECK(w.in_flight() == 3);  // the swaps in flight finish; nothing new starts

    // A failure that has left the last batch no longer counts.
    rollout_window s(all_steps(10), cands(10), 0, 2, 0.5);
    CHECK(take(s) == steps{0, 1});
    s.finished(0, true);  // 1 of the last 2: not above 0.5
    CHECK(take(s) == steps{2});
    s.finished(1, false);
    s.finished(2, false);
    CHECK(take(s) == steps{3, 4});
    s.finished(3, true);  // the last two: 2 ok, 3 failed: 1 of 2, not above 0.5
    CHECK_FALSE(s.halted());
    s.finished(4, true);  // 3 and 4 failed: 2 of 2
    CHECK(s.halted());

    // Fewer swaps after the canary than parallelism: the ratio is over all of them.
    rollout_window few(all_steps(3), cands(3), 1, 8, 0.5);
    take(few);
    few.finished(0, false);
    CHECK(take(few) == steps{1, 2});
    few.finished(1, true);  // 1 of 2: not above 0.5
    CHECK_FALSE(few.halted());

    rollout_window never(all_steps(5), cands(5), 1, 4, 1.0);  // 1.0: never halts after the canary
    take(never);
    never.finished(0, false);
    for (auto st : take(never))
        never.finished(st, true);
    CHECK_FALSE(never.halted());
}

TEST_CASE("stop: Docker is gone, nothing more starts, and it is not a halt")
{
    rollout_window w(all_steps(6), cands(6), 0, 2, 0.0);
    CHECK(take(w) == steps{0, 1});
    w.stop();
    w.finished(0, false);
    CHECK(take(w).empty());
    CHECK_FALSE(w.halted());
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
