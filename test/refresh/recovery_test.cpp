// plan_recovery: what start-up recovery does with a parked original, for every point a crash can
// interrupt a swap of a running and of a stopped container.
#include "refresh/recovery.hpp"
#include "refresh/select.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

using namespace imagewatch;
using refresh::container_facts;
using refresh::plan_recovery;
using refresh::recovery_kind;

namespace {

container_facts parked(bool running = false)
{
    container_facts f;
    f.id = "old";
    f.running = f.up = running;
    f.networks = {"bridge", "backend"};
    return f;
}

container_facts replacement(bool up, std::set<std::string> networks = {"bridge", "backend"})
{
    container_facts f;
    f.id = "new";
    f.running = f.up = up;
    f.replaced_from = "old";
    f.networks = std::move(networks);
    return f;
}

}  // namespace

TEST_CASE("parked names record whether the original was running")
{
    CHECK(refresh::old_name_for("ws-a", true) == "ws-a-imagewatch-old");
    CHECK(refresh::old_name_for("ws-a", false) == "ws-a-imagewatch-old-stopped");
    auto r = refresh::parse_old_name("ws-a-imagewatch-old");
    REQUIRE(r);
    CHECK(r->name == "ws-a");
    CHECK(r->was_running);
    auto s = refresh::parse_old_name("ws-a-imagewatch-old-stopped");
    REQUIRE(s);
    CHECK(s->name == "ws-a");
    CHECK_FALSE(s->was_running);
    CHECK_FALSE(refresh::parse_old_name("ws-a"));
    CHECK_FALSE(refresh::parse_old_name("-imagewatch-old"));
    CHECK(refresh::is_old_name("x-imagewatch-old-stopped"));
    CHECK_FALSE(refresh::is_old_name("x-imagewatch-older"));
}

TEST_CASE("running original, killed after rename (before stop): stop it, start it, rename back")
{
    auto p = plan_recovery(parked(true), true, std::nullopt);
    CHECK(p.kind == recovery_kind::restore);
    CHECK_FALSE(p.remove_replacement);
    CHECK(p.stop_original);  // Docker may still be carrying out a stop whose client died
    CHECK(p.start_original);
}

TEST_CASE("running original, killed after stop or during create: start it, rename back")
{
    auto p = plan_recovery(parked(false), true, std::nullopt);
    CHECK(p.kind == recovery_kind::restore);
    CHECK_FALSE(p.stop_original);
    CHECK(p.start_original);
}

TEST_CASE("running original, killed after create (before start): replacement removed, original started")
{
    auto p = plan_recovery(parked(), true, replacement(false));
    CHECK(p.kind == recovery_kind::restore);
    CHECK(p.remove_replacement);
    CHECK(p.start_original);
}

TEST_CASE("running original, killed during verify or before removing the old one: a running replacement is kept")
{
    CHECK(plan_recovery(parked(), true, replacement(true)).kind == recovery_kind::commit);
    auto healthy = replacement(true);
    healthy.health = "healthy";
    CHECK(plan_recovery(parked(), true, healthy).kind == recovery_kind::commit);
}

TEST_CASE("running original: a replacement not (yet) healthy, restarting or paused is not trusted")
{
    auto starting = replacement(true);
    starting.health = "starting";
    CHECK(plan_recovery(parked(), true, starting).kind == recovery_kind::restore);
    auto restarting = replacement(false);
    restarting.running = true;  // Running with Restarting: up is false
    auto p = plan_recovery(parked(), true, restarting);
    CHECK(p.kind == recovery_kind::restore);
    CHECK(p.remove_replacement);
}

TEST_CASE("stopped original, killed after rename (before create): renamed back, not started")
{
    auto p = plan_recovery(parked(false), false, std::nullopt);
    CHECK(p.kind == recovery_kind::restore);
    CHECK_FALSE(p.remove_replacement);
    CHECK_FALSE(p.stop_original);
    CHECK_FALSE(p.start_original);
}

TEST_CASE("stopped original, killed after create: the created, never started replacement is the finished swap")
{
    CHECK(plan_recovery(parked(false), false, replacement(false)).kind == recovery_kind::commit);
}

TEST_CASE("stopped original, killed between create and connecting a further network: restored, stopped")
{
    auto p = plan_recovery(parked(false), false, replacement(false, {"bridge"}));
    CHECK(p.kind == recovery_kind::restore);
    CHECK(p.remove_replacement);
    CHECK_FALSE(p.start_original);
}

TEST_CASE("a stopped original that was started by hand meanwhile is not stopped by recovery")
{
    auto p = plan_recovery(parked(true), false, std::nullopt);
    CHECK_FALSE(p.stop_original);
    CHECK_FALSE(p.start_original);
}

TEST_CASE("a container under the name that is not the replacement of this original is foreign")
{
    auto other = replacement(true);
    other.replaced_from = "";
    CHECK(plan_recovery(parked(), true, other).kind == recovery_kind::foreign);
    other.replaced_from = "someone-else";
    CHECK(plan_recovery(parked(), false, other).kind == recovery_kind::foreign);
}

TEST_CASE("facts from a container inspect")
{
    auto v = boost::json::parse(R"({
        "Id": "abc",
        "State": {"Running": true, "Paused": false, "Restarting": true, "Health": {"Status": "starting"}},
        "Config": {"Labels": {"imagewatch.replaced-from": "old"}, "StopTimeout": 7},
        "NetworkSettings": {"Networks": {"none": {}, "extra": {}}}
    })");
    auto f = refresh::facts_from_inspect(v.as_object());
    CHECK(f.id == "abc");
    CHECK(f.running);
    CHECK_FALSE(f.up);
    CHECK(f.health == "starting");
    CHECK(f.replaced_from == "old");
    CHECK(f.stop_timeout == std::chrono::seconds(7));
    CHECK(f.networks == std::set<std::string>{"extra", "none"});
    auto bare =
        refresh::facts_from_inspect(boost::json::parse(R"({"Id": "x", "Config": {"Labels": null}})").as_object());
    CHECK_FALSE(bare.running);
    CHECK(bare.health.empty());
    CHECK(bare.replaced_from.empty());
    CHECK_FALSE(bare.stop_timeout);
}
