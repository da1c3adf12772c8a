// Progressive rollout through the refresh service over a fake engine: canary and halt, the bad
// image memory and force, notify mode, the window and min_age for automatic requests only.
#include "fake_docker.hpp"
#include "fast_settings.hpp"
#include "refresh/service.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

using namespace imagewatch;
using namespace std::chrono_literals;
using test::fake_docker;

namespace {

const std::string A = "registry.test:5443/test/roll:latest";

config::runtime rt(config::rollout_settings ro = {})
{
    return config::runtime{"a", parse_image_ref(A).value(), config::selector{"ws-", ""}, ro};
}

// Several refreshes with one service (its memory of bad images lives as long as it does).
struct harness
{
    fake_docker d;
    std::vector<refresh::outcome> outs;
    std::optional<refresh::rollout_status> last;

    void run(std::vector<std::pair<config::runtime, refresh::request>> steps)
    {
        test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
            refresh::service svc(ioc.get_executor(), d,
                                 [](image_ref) -> awaitable<std::string> { co_return std::string(); });
            for (auto& [r, rq] : steps)
            {
                std::vector<config::runtime> one{r};
                outs.push_back(co_await svc.refresh(one, rq, test::fast_settings()));
            }
            last = svc.rollout_of("a");
        });
    }
    int ws_containers_on(const std::string& image_id)
    {
        int n = 0;
        for (const auto& [id, c] : d.containers)
            n += c.at("Image").as_string() == image_id && std::string(c.at("Name").as_string()).starts_with("/ws-") ? 1
                                                                                                                    : 0;
        return n;
    }
};

std::string utc_hhmm(std::chrono::system_clock::time_point t)
{
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[8];
    std::strftime(buf, sizeof buf, "%H:%M", &tm);
    return buf;
}

}  // namespace

TEST_CASE("a canary that fails verification halts: one container touched, all restored, the image is not retried")
{
    harness h;
    auto v1 = h.d.add_image(A, {});
    for (int i = 0; i < 6; ++i)
        h.d.add_container("ws-" + std::to_string(i), A);
    h.d.next_image(A, {{}, true});  // exits at once: never verified
    config::rollout_settings ro;
    ro.canary = 1;
    ro.parallelism = 3;
    h.run({{rt(ro), {}}, {rt(ro), {}}});
    const auto& first = h.outs[0].result;
    CHECK(first.halted == std::vector<std::string>{"a"});
    CHECK(first.recreated.empty());
    CHECK(h.d.calls["create"] == 1);     // only the canary was tried
    CHECK(h.ws_containers_on(v1) == 6);  // the canary rolled back, the others untouched
    bool told = false;
    for (const auto& e : first.errors)
        told = told || e.error.find("rollout halted after 1 of 6 containers (1 failed); 5 left on the old image") !=
                           std::string::npos;
    CHECK(told);
    // The same image again: no swap at all, and the answer says how to retry.
    const auto& second = h.outs[1].result;
    CHECK(second.halted == std::vector<std::string>{"a"});
    CHECK(h.d.calls["create"] == 1);
    REQUIRE_FALSE(second.errors.empty());
    CHECK(second.errors.back().error.find("force=true") != std::string::npos);
    REQUIRE(h.last);
    CHECK(h.last->state == refresh::rollout_state::halted);
    CHECK(h.last->failed == 1);
    CHECK(h.last->remaining == 5);
}

TEST_CASE("force retries a bad image; a newer good image rolls out and clears the mark")
{
    harness h;
    auto v1 = h.d.add_image(A, {});
    for (int i = 0; i < 5; ++i)
        h.d.add_container("ws-" + std::to_string(i), A);
    h.d.next_image(A, {{}, true});
    config::rollout_settings ro;
    ro.parallelism = 2;
    refresh::request forced;
    forced.force = true;
    h.run({{rt(ro), {}}, {rt(ro), forced}});
    CHECK(h.d.calls["create"] == 2);  // the forced run tried the canary again (and halted again)
    CHECK(h.ws_containers_on(v1) == 5);

    harness g;
    g.d.add_image(A, {});
    for (int i = 0; i < 5; ++i)
        g.d.add_container("ws-" + std::to_string(i), A);
    g.d.next_image(A, {{}, true});
    g.run({{rt(ro), {}}});
    auto v3 = g.d.next_image(A, {});
    g.run({{rt(ro), {}}});
    CHECK(g.outs[1].result.halted.empty());
    CHECK(g.outs[1].result.recreated.size() == 5);
    CHECK(g.ws_containers_on(v3) == 5);
    REQUIRE(g.last);
    CHECK(g.last->state == refresh::rollout_state::done);
    CHECK(g.last->replaced == 5);
    CHECK(g.last->remaining == 0);
}

TEST_CASE("parallel swaps replace every container once")
{
    harness h;
    h.d.add_image(A, {});
    for (int i = 0; i < 9; ++i)
        h.d.add_container("ws-" + std::to_string(i), A);
    auto v2 = h.d.next_image(A, {});
    config::rollout_settings ro;
    ro.parallelism = 4;
    h.run({{rt(ro), {}}});
    CHECK(h.outs[0].result.ok());
    CHECK(h.outs[0].result.recreated.size() == 9);
    CHECK(h.d.calls["create"] == 9);
    CHECK(h.ws_containers_on(v2) == 9);
}

TEST_CASE("a slow swap holds one slot of the window, not the swaps after it")
{
    // The first swap after the canary is held inside its create. With parallelism 2 the swap
    // beside it finishes, and the next one must start while the held one still waits: a batch
    // barrier would hold it back until the hold gives up (5 s) and fail the check.
    harness h;
    h.d.add_image(A, {});
    for (int i = 0; i < 5; ++i)
        h.d.add_container("ws-" + std::to_string(i), A);
    auto v2 = h.d.next_image(A, {});
    std::optional<asio::steady_timer> hold;
    bool holding = false;
    bool next_started_while_held = false;
    h.d.on_create = [&](int n) -> awaitable<void> {
        if (n == 4 && holding)
        {
            next_started_while_held = true;
            hold->cancel();
        }
        if (n != 2)
            co_return;
        hold.emplace(co_await asio::this_coro::executor, 5s);
        holding = true;
        co_await hold->async_wait(nothrow_awaitable);
        holding = false;
        hold.reset();  // a timer must not outlive the io_context of the run
    };
    config::rollout_settings ro;
    ro.canary = 1;
    ro.parallelism = 2;
    h.run({{rt(ro), {}}});
    CHECK(next_started_while_held);
    CHECK(h.outs[0].result.recreated.size() == 5);
    CHECK(h.ws_containers_on(v2) == 5);
}

TEST_CASE("mode notify never pulls or replaces, automatic or not")
{
    harness h;
    auto v1 = h.d.add_image(A, {});
    h.d.add_container("ws-0", A);
    h.d.next_image(A, {});
    config::rollout_settings ro;
    ro.mode = config::rollout_mode::notify;
    refresh::request automatic;
    automatic.automatic = true;
    h.run({{rt(ro), {}}, {rt(ro), automatic}});
    CHECK(h.d.calls["pull"] == 0);
    CHECK(h.d.calls["create"] == 0);
    CHECK(h.outs[0].result.notified == std::vector<std::string>{"a"});
    CHECK(h.ws_containers_on(v1) == 1);
}

TEST_CASE("a closed window defers an automatic rollout (nothing pulled) but not an operator's")
{
    harness h;
    h.d.add_image(A, {});
    h.d.add_container("ws-0", A);
    auto v2 = h.d.next_image(A, {});
    const auto now = std::chrono::system_clock::now();
    config::rollout_settings ro;
    ro.window = config::parse_window(utc_hhmm(now + 2h) + "-" + utc_hhmm(now + 3h) + " UTC").value();
    refresh::request automatic;
    automatic.automatic = true;
    automatic.digest = "sha256:feed";
    h.run({{rt(ro), automatic}});
    CHECK(h.outs[0].result.deferred == std::vector<std::string>{"a"});
    CHECK(h.d.calls["pull"] == 0);
    REQUIRE(h.last);
    CHECK(h.last->state == refresh::rollout_state::pending_window);
    CHECK(h.last->digest == "sha256:feed");
    REQUIRE(h.last->until);
    CHECK(*h.last->until > now + 1h);
    h.run({{rt(ro), {}}});  // an admin POST
    CHECK(h.outs[1].result.recreated == std::vector<std::string>{"ws-0"});
    CHECK(h.ws_containers_on(v2) == 1);
}

TEST_CASE("min_age defers an automatic rollout of a young image, applies an old one")
{
    harness h;
    h.d.add_image(A, {});
    h.d.add_container("ws-0", A);
    auto v2 = h.d.next_image(A, {});
    h.d.images[v2]["Created"] = "2099-01-01T00:00:00.5Z";
    config::rollout_settings ro;
    ro.min_age = 1h;
    refresh::request automatic;
    automatic.automatic = true;
    h.run({{rt(ro), automatic}});
    CHECK(h.outs[0].result.deferred == std::vector<std::string>{"a"});
    CHECK(h.d.calls["create"] == 0);
    REQUIRE(h.last);
    CHECK(h.last->state == refresh::rollout_state::deferred_until);
    h.d.images[v2]["Created"] = "2020-01-01T00:00:00Z";
    h.run({{rt(ro), automatic}});
    CHECK(h.outs[1].result.recreated == std::vector<std::string>{"ws-0"});
}

TEST_CASE("a swap that fails because Docker is gone stops the rollout without marking the image bad")
{
    // Not the image's fault: the next refresh (Docker back) must roll it out, not call it halted.
    harness h;
    h.d.add_image(A, {});
    for (int i = 0; i < 3; ++i)
        h.d.add_container("ws-" + std::to_string(i), A);
    auto v2 = h.d.next_image(A, {});
    h.d.unreachable_on["create"] = 1;
    config::rollout_settings ro;
    ro.canary = 1;
    ro.parallelism = 2;
    h.run({{rt(ro), {}}, {rt(ro), {}}});
    const auto& first = h.outs[0].result;
    CHECK(first.halted.empty());
    CHECK(first.recreated.empty());
    CHECK(first.errors.size() == 1);  // the canary's own: the rollout stopped there
    CHECK(h.d.calls["create"] == 4);  // that one, then all three in the second refresh
    const auto& second = h.outs[1].result;
    CHECK(second.halted.empty());
    CHECK(second.recreated.size() == 3);
    CHECK(h.ws_containers_on(v2) == 3);
    REQUIRE(h.last);
    CHECK(h.last->state == refresh::rollout_state::done);
}
