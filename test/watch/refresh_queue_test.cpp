// Per-runtime coalescing (docs/watching.md "Refresh queue"): triggers during a refresh merge into one follow-up run.
#include "refresh/fake_docker.hpp"
#include "support/run_coro.hpp"
#include "watch/refresh_queue.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

using namespace imagewatch;
using namespace std::chrono_literals;

TEST_CASE("three triggers during a refresh give exactly one follow-up run, shared by all")
{
    test::fake_docker d;
    const std::string A = "registry.test:5443/test/a:latest";
    d.add_image(A, {});
    d.add_container("ws-a", A);
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        refresh::service svc(ioc.get_executor(), d,
                             [](image_ref) -> awaitable<std::string> { co_return std::string(); });
        watch::refresh_queue q(ioc.get_executor(), svc, [] { return refresh::settings{}; });
        config::runtime rt{"a", parse_image_ref(A).value(), {"ws-", ""}, {}};
        int finished = 0;
        std::vector<refresh::outcome> outs(4);
        for (int i = 0; i < 4; ++i)
            asio::co_spawn(ioc, q.run(rt, true), [&, i](std::exception_ptr, refresh::outcome o) {
                outs[static_cast<std::size_t>(i)] = o;
                ++finished;
            });
        asio::steady_timer t(ioc);
        while (finished < 4)
        {
            t.expires_after(1ms);
            co_await t.async_wait(nothrow_awaitable);
        }
        CHECK(d.calls["pull"] == 2);  // the first run + one merged follow-up
        CHECK_FALSE(q.busy());
        for (auto& o : outs)
            CHECK(o.result.pulled == std::vector<std::string>{"a"});
    });
}

TEST_CASE("merge keeps order and the first fatal error")
{
    refresh::outcome all, a, b;
    a.result.pulled = {"a"};
    b.result.failed = {"b"};
    b.fatal = "container list: x";
    refresh::merge(all, a);
    refresh::merge(all, b);
    CHECK(all.result.pulled == std::vector<std::string>{"a"});
    CHECK(all.result.failed == std::vector<std::string>{"b"});
    CHECK(*all.fatal == "container list: x");
}
