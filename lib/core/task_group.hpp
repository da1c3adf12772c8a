#pragma once
// Coroutines started together and awaited together or one by one (the swaps of a rollout, the
// runtimes of one admin POST). I/O-ish: the tasks run on the group's executor, interleaved at
// their suspension points.
#include "core/awaitable.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <exception>

namespace imagewatch {

class task_group
{
public:
    explicit task_group(asio::any_io_executor ex) : ex_(ex), done_(ex, asio::steady_timer::time_point::max()) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // The group must be awaited (wait()) before it is destroyed.
    void spawn(awaitable<void> task)
    {
        ++running_;
        asio::co_spawn(ex_, std::move(task), [this](std::exception_ptr e) {
            if (e && !failure_)
                failure_ = e;
            --running_;
            ++finished_;
            done_.cancel();  // the timer is only a condition variable: it never expires
        });
    }

    // Until at least one more task finished (at once when none runs). A task that threw ends the
    // group: the others are awaited and the exception rethrown, as wait() does.
    awaitable<void> wait_any()
    {
        const auto seen = finished_;
        while (running_ > 0 && finished_ == seen)
            co_await done_.async_wait(nothrow_awaitable);
        if (failure_)
            co_await wait();
    }

    // Until every task finished; then rethrows the first exception one of them threw.
    awaitable<void> wait()
    {
        while (running_ > 0)
            co_await done_.async_wait(nothrow_awaitable);
        if (failure_)
            std::rethrow_exception(std::exchange(failure_, nullptr));
    }

    std::size_t running() const { return running_; }

private:
    asio::any_io_executor ex_;
    asio::steady_timer done_;
    std::size_t running_ = 0;
    std::size_t finished_ = 0;
    std::exception_ptr failure_;
};

}  // namespace imagewatch
