// check_scheduler: a webhook-triggered check is repeated while the registry still serves another
// digest than the one announced (distribution notifies before the tag is readable), and only then.
#include "hooks/scheduler.hpp"

#include "support/run_coro.hpp"
#include "support/wait.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <map>

using namespace imagewatch;
using namespace imagewatch::hooks;
using namespace std::chrono_literals;

namespace {

using test::sleep_for;

// A watcher stand-in: a trigger completes a check 10 ms later, seeing `served` at that moment.
struct fake_watcher
{
    asio::any_io_executor ex;
    std::map<std::string, std::string> served = {};  // runtime -> digest the registry answers with
    std::map<std::string, observed> status = {};
    std::map<std::string, int> triggers = {};

    bool trigger(const std::string& name)
    {
        if (!served.contains(name))
            return false;
        ++triggers[name];
        asio::co_spawn(ex, check(name), asio::detached);
        return true;
    }
    awaitable<void> check(std::string name)
    {
        asio::steady_timer t(ex, 10ms);
        co_await t.async_wait(nothrow_awaitable);
        status[name].last_check = std::chrono::system_clock::now();
        status[name].digest = served[name];
    }
    observed look(const std::string& name) { return status[name]; }
};

scheduler_settings fast()
{
    scheduler_settings s;
    s.first_delay = 10ms;
    s.poll = 2ms;
    s.check_timeout = 2s;
    s.max_follow_ups = 3;
    return s;
}

template <class F>
awaitable<void> settle(F cond)
{
    for (int i = 0; i < 400 && !cond(); ++i)
        co_await sleep_for(5ms);
}

}  // namespace

TEST_CASE("scheduler: the announced digest is already served -> one check")
{
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        fake_watcher w{ioc.get_executor()};
        w.served = {{"app", "sha256:new"}};
        check_scheduler s(
            ioc.get_executor(), [&](const std::string& n) { return w.trigger(n); },
            [&](const std::string& n) { return w.look(n); }, fast());
        const std::vector<check_request> reqs{{"app", "sha256:new"}};
        CHECK(s.schedule(reqs) == std::vector<std::string>{"app"});
        co_await settle([&] { return s.following() == 0; });
        co_await sleep_for(50ms);
        CHECK(w.triggers["app"] == 1);
        CHECK(s.following() == 0);
    });
}

TEST_CASE("scheduler: old digest still served at the first check -> checked again until it moves")
{
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        fake_watcher w{ioc.get_executor()};
        w.served = {{"app", "sha256:old"}};
        check_scheduler s(
            ioc.get_executor(), [&](const std::string& n) { return w.trigger(n); },
            [&](const std::string& n) { return w.look(n); }, fast());
        const std::vector<check_request> reqs{{"app", "sha256:new"}};
        CHECK(s.schedule(reqs).size() == 1);
        co_await settle([&] { return w.status["app"].last_check.has_value(); });
        w.served["app"] = "sha256:new";  // the registry linked the tag meanwhile
        co_await settle([&] { return s.following() == 0; });
        CHECK(w.triggers["app"] == 2);
        CHECK(w.status["app"].digest == "sha256:new");
    });
}

TEST_CASE("scheduler: bounded when the digest never shows up; no digest -> no follow-up")
{
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        fake_watcher w{ioc.get_executor()};
        w.served = {{"app", "sha256:old"}, {"web", "sha256:old"}};
        check_scheduler s(
            ioc.get_executor(), [&](const std::string& n) { return w.trigger(n); },
            [&](const std::string& n) { return w.look(n); }, fast());
        const std::vector<check_request> reqs{{"app", "sha256:never"}, {"web", ""}, {"gone", "sha256:x"}};
        CHECK(s.schedule(reqs) == std::vector<std::string>{"app", "web"});  // "gone" has no watch task
        CHECK(s.following() == 1);
        co_await settle([&] { return s.following() == 0; });
        CHECK(s.following() == 0);
        CHECK(w.triggers["app"] == 1 + 3);  // the first check and max_follow_ups more
        CHECK(w.triggers["web"] == 1);
    });
}

TEST_CASE("scheduler: a newer announcement for the same runtime replaces the awaited digest")
{
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        fake_watcher w{ioc.get_executor()};
        w.served = {{"app", "sha256:v1"}};
        check_scheduler s(
            ioc.get_executor(), [&](const std::string& n) { return w.trigger(n); },
            [&](const std::string& n) { return w.look(n); }, fast());
        const std::vector<check_request> first{{"app", "sha256:v2"}};
        const std::vector<check_request> second{{"app", "sha256:v1"}};  // v2 was overwritten by a push of v1 again
        s.schedule(first);
        s.schedule(second);
        CHECK(s.following() == 1);
        co_await settle([&] { return s.following() == 0; });
        CHECK(w.triggers["app"] == 2);  // both triggers, no follow-ups: v1 is what is served
    });
}
