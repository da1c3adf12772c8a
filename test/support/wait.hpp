#pragma once
// Waits the io tests share inside their coroutines: a timer sleep, and polling until a condition holds.
#include "core/awaitable.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>

namespace imagewatch::test {

inline awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(nothrow_awaitable);
}

// Polls cond() every 5 ms until it holds or `limit` has passed; returns whether it held.
template <class F>
awaitable<bool> eventually(F cond, std::chrono::milliseconds limit = std::chrono::seconds(3))
{
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!cond())
    {
        if (std::chrono::steady_clock::now() > end)
            co_return false;
        co_await sleep_for(std::chrono::milliseconds(5));
    }
    co_return true;
}

}  // namespace imagewatch::test
