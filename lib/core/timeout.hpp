#pragma once
// Time in coroutines: a whole-operation deadline, and a pause. I/O.
//
// with_timeout: a whole-operation deadline (Boost 1.81 has no asio::cancel_after).
// Runs op; if it has not finished within d, cancels it (terminal) and returns errc::timed_out with
// `what` in the message. The parallel_group waits for the cancelled op to unwind, so nothing
// outlives the call. Never use `op || timer` (asio #900, #1123): an op that throws would be lost.
#include "core/awaitable.hpp"
#include "core/duration.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <string>

namespace imagewatch {

template <class T>
awaitable<result<T>> with_timeout(awaitable<result<T>> op, std::chrono::steady_clock::duration d, std::string what)
{
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, d);
    auto [order, exc, value, timer_ec] =
        co_await asio::experimental::make_parallel_group(asio::co_spawn(ex, std::move(op), asio::deferred),
                                                         timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 1 && !timer_ec)
        co_return make_error(errc::timed_out, what + ": no answer within " + format_duration(d));
    if (exc)
        std::rethrow_exception(exc);
    co_return std::move(value);
}

// Waits d on the calling coroutine's executor; a cancelled wait (shutdown) just ends early.
inline awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(nothrow_awaitable);
}

}  // namespace imagewatch
