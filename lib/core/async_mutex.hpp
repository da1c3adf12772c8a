#pragma once
// Counted admission between coroutines on one thread (no OS primitives: nothing runs in parallel,
// but a coroutine may suspend while holding a resource, e.g. one of a few pull slots). Named locks
// (keyed_locks.hpp) are built on it. I/O-ish.
#include "core/awaitable.hpp"

#include <boost/asio/experimental/channel.hpp>

#include <cstddef>
#include <tuple>
#include <utility>

namespace imagewatch {

// At most `slots` holders at once; the others wait in FIFO order.
class async_semaphore
{
public:
    async_semaphore(asio::any_io_executor ex, std::size_t slots) : ch_(std::move(ex), slots) {}
    async_semaphore(const async_semaphore&) = delete;
    async_semaphore& operator=(const async_semaphore&) = delete;

    // RAII holder returned by acquire(); releases on destruction. Empty when the wait was cancelled.
    class guard
    {
    public:
        guard() = default;
        explicit guard(async_semaphore* m) : m_(m) {}
        guard(guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        guard& operator=(guard o) noexcept
        {
            std::swap(m_, o.m_);
            return *this;
        }
        ~guard()
        {
            if (m_)
                m_->release();
        }
        explicit operator bool() const { return m_ != nullptr; }

    private:
        async_semaphore* m_ = nullptr;
    };

    // Waits until a slot is free. Cancellation while waiting throws (asio channel_cancelled).
    awaitable<guard> acquire()
    {
        co_await ch_.async_send(boost::system::error_code{}, asio::use_awaitable);
        co_return adopt();
    }
    // acquire() in two steps, for a caller that waits in its own frame: co_await wait(), and when it
    // gives no error (cancellation is expected there), adopt() the slot it took.
    awaitable<std::tuple<boost::system::error_code>> wait()
    {
        // A holder is a message in the channel's buffer: send waits while the buffer is full.
        return ch_.async_send(boost::system::error_code{}, nothrow_awaitable);
    }
    guard adopt()
    {
        ++held_;
        return guard{this};
    }
    // A free slot at once, without suspending; an empty guard when every slot is held. Never
    // jumps the queue: a waiter exists only while every slot is held.
    guard try_acquire()
    {
        if (!ch_.try_send(boost::system::error_code{}))
            return guard{};
        return adopt();
    }
    std::size_t held() const { return held_; }

private:
    void release()
    {
        --held_;
        ch_.try_receive([](boost::system::error_code) {});
    }
    asio::experimental::channel<void(boost::system::error_code)> ch_;
    std::size_t held_ = 0;
};

}  // namespace imagewatch
