#include "daemon/readiness.hpp"

#include "refresh/fake_docker.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::daemon;
using namespace std::chrono_literals;

TEST_CASE("not ready with the reason until the Engine answers; the answer is returned")
{
    test::fake_docker d;
    d.ping_failures = 2;
    readiness r;
    CHECK(r.reason() == "starting");
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        asio::steady_timer t(ioc);
        auto v = co_await wait_for_docker(d, t, r, "unix:///var/run/docker.sock", {1ms, 2ms});
        REQUIRE(v);
        CHECK(v->arch == "amd64");
        CHECK(d.calls["ping"] == 3);
        CHECK(r.reason() == "docker: connect: connection refused");  // the caller marks ready
        CHECK_FALSE(r.ready());
    });
    r.mark_ready();
    CHECK(r.ready());
    CHECK(r.reason().empty());
}

TEST_CASE("a cancelled wait (shutdown) returns nothing")
{
    test::fake_docker d;
    d.ping_failures = 1000;
    readiness r;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        asio::steady_timer t(ioc);
        asio::steady_timer stop(ioc);
        stop.expires_after(20ms);
        stop.async_wait([&](auto) { t.cancel(); });
        auto v = co_await wait_for_docker(d, t, r, "unix:///var/run/docker.sock", {1ms, 5ms});
        CHECK_FALSE(v);
        CHECK(d.calls["ping"] < 1000);
        CHECK(r.reason() == "docker: connect: connection refused");
    });
}
