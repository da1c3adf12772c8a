#include "core/timeout.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace std::chrono_literals;

namespace {

awaitable<result<int>> sleeper(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    auto [ec] = co_await t.async_wait(nothrow_awaitable);
    if (ec)
        co_return make_error(errc::cancelled, "cancelled");
    co_return 42;
}

}  // namespace

TEST_CASE("with_timeout returns the value when the op is fast")
{
    test::run_coro([](asio::io_context&) -> awaitable<void> {
        auto r = co_await with_timeout(sleeper(1ms), 1s, "op");
        REQUIRE(r.has_value());
        CHECK(*r == 42);
    });
}

TEST_CASE("with_timeout cancels a slow op and says what timed out")
{
    auto start = std::chrono::steady_clock::now();
    test::run_coro([](asio::io_context&) -> awaitable<void> {
        auto r = co_await with_timeout(sleeper(10s), 50ms, "registry HEAD");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::timed_out);
        CHECK(r.error().message == "registry HEAD: no answer within 50ms");
    });
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}
