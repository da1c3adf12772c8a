// Digest bookkeeping (docs/watching.md "Decisions"): first observation, changes, rollback after a
// failed refresh, fetch errors, index digests.
#include "watch/tracker.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::watch;

namespace {

observation obs(std::string d, std::optional<bool> stale = std::nullopt) { return observation{d, d, stale}; }

}  // namespace

TEST_CASE("first observation seeds without refresh when local containers are current")
{
    tracker t(true);
    CHECK(t.observe("a", obs("sha256:aaaa", false)) == decision::seed);
    CHECK(*t.recorded("a") == "sha256:aaaa");
    CHECK(t.observe("b", obs("sha256:bbbb")) == decision::seed);  // unknown = no refresh
}

TEST_CASE("apply_on_start: stale containers at the first observation are refreshed")
{
    tracker t(true);
    CHECK(t.observe("a", obs("sha256:new", true)) == decision::refresh);
    t.settle("a", true);
    CHECK(t.observe("a", obs("sha256:new", true)) == decision::unchanged);
}

TEST_CASE("apply_on_start off: the first observation only records the digest")
{
    tracker t(false);
    CHECK(t.observe("a", obs("sha256:new", true)) == decision::seed);
    CHECK(t.observe("a", obs("sha256:new")) == decision::unchanged);
}

TEST_CASE("unchanged digests never refresh")
{
    tracker t(true);
    t.observe("a", obs("v1"));
    CHECK(t.observe("a", obs("v1")) == decision::unchanged);
    CHECK(t.observe("a", obs("v1")) == decision::unchanged);
}

TEST_CASE("a changed digest refreshes only that runtime")
{
    tracker t(true);
    t.observe("claude-code", obs("v1"));
    t.observe("hermes", obs("v1"));
    CHECK(t.observe("claude-code", obs("v2")) == decision::refresh);
    CHECK(t.observe("hermes", obs("v1")) == decision::unchanged);
    t.settle("claude-code", true);
    CHECK(*t.recorded("claude-code") == "v2");
}

TEST_CASE("a failed refresh rolls the digest back so the next check retries")
{
    tracker t(true);
    t.observe("a", obs("old"));
    CHECK(t.observe("a", obs("new")) == decision::refresh);
    t.settle("a", false);  // pull failed, swap rolled back, or Docker down: all the same
    CHECK(*t.recorded("a") == "old");
    CHECK(t.observe("a", obs("new")) == decision::refresh);
    t.settle("a", true);
    CHECK(*t.recorded("a") == "new");
    CHECK(t.observe("a", obs("new")) == decision::unchanged);
}

TEST_CASE("a failed apply-on-start refresh is retried at the next check")
{
    tracker t(true);
    CHECK(t.observe("a", obs("new", true)) == decision::refresh);
    t.settle("a", false);
    CHECK_FALSE(t.recorded("a"));
    CHECK(t.observe("a", obs("new", true)) == decision::refresh);
}

TEST_CASE("a fetch error leaves the state untouched (observe is simply not called)")
{
    tracker t(true);
    t.observe("a", obs("old"));
    // ... fetch fails: nothing happens ...
    CHECK(*t.recorded("a") == "old");
    CHECK(t.observe("a", obs("old")) == decision::unchanged);
}

TEST_CASE("index: a change to another platform only is not an update")
{
    tracker t(true);
    t.observe("a", observation{"sha256:index1", "sha256:amd64-1", false});
    CHECK(t.observe("a", observation{"sha256:index2", "sha256:amd64-1", std::nullopt}) == decision::unchanged);
    CHECK(*t.recorded("a") == "sha256:index2");
    CHECK(t.observe("a", observation{"sha256:index3", "sha256:amd64-2", std::nullopt}) == decision::refresh);
}

TEST_CASE("forget starts a runtime over")
{
    tracker t(true);
    t.observe("a", obs("v1"));
    t.forget("a");
    CHECK_FALSE(t.recorded("a"));
    CHECK(t.observe("a", obs("v2", false)) == decision::seed);
}
