#pragma once
// Mutual exclusion and counted admission between coroutines on one thread (no OS primitives:
// nothing runs in parallel, but a coroutine may suspend while holding a resource, e.g. a container
// swap or one of a few pull slots). I/O-ish.
#include "core/awaitable.hpp"

#include <boost/asio/experimental/channel.hpp>

#include <cstddef>
#include <utility>

namespace imagewatch {

// At most `slots` holders at once; the others wait in FIFO order.
class async_semaphore
{
public:
    async_semaphore(asio::any_io_executor ex, std::size_t slots) : ch_(std::move(ex), slots) {}
    async_semaphore(const async_semaphore&) = delete;
    async_semaphore& operator=(const async_semaphore&) = delete;

    // RAII holder returned by acquire(); releases on destruction.
    class guard
    {
    public:
        explicit guard(async_semaphore* m) : m_(m) {}
        guard(guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        guard& operator=(guard&&) = delete;
        ~guard()
        {
            if (m_)
                m_->release();
        }

    private:
        async_semaphore* m_;
    };

    // Waits until a slot is free. Cancellation while waiting throws operation_aborted.
    awaitable<guard> acquire()
    {
        // A holder is a message in the channel's buffer: send waits while the buffer is full.
        co_await ch_.async_send(boost::system::error_code{}, asio::use_awaitable);
        ++held_;
        co_return guard{this};
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

class async_mutex
{
public:
    explicit async_mutex(asio::any_io_executor ex) : sem_(std::move(ex), 1) {}
    using guard = async_semaphore::guard;
    awaitable<guard> lock() { return sem_.acquire(); }
    bool locked() const { return sem_.held() > 0; }

private:
    async_semaphore sem_;
};

}  // namespace imagewatch
