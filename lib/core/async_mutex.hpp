#pragma once
// Mutual exclusion between coroutines on one thread (no OS mutex: nothing runs in parallel, but a
// coroutine may suspend while holding a resource, e.g. a container swap). I/O-ish.
#include "core/awaitable.hpp"

#include <boost/asio/experimental/channel.hpp>

#include <utility>

namespace imagewatch {

class async_mutex
{
public:
    explicit async_mutex(asio::any_io_executor ex) : ch_(std::move(ex), 1) {}

    // RAII holder returned by lock(); releases on destruction.
    class guard
    {
    public:
        explicit guard(async_mutex* m) : m_(m) {}
        guard(guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        guard& operator=(guard&&) = delete;
        ~guard()
        {
            if (m_)
                m_->unlock();
        }

    private:
        async_mutex* m_;
    };

    // Waits until the mutex is free. Cancellation while waiting throws operation_aborted.
    awaitable<guard> lock()
    {
        co_await ch_.async_send(boost::system::error_code{}, asio::use_awaitable);
        co_return guard{this};
    }
    // A held mutex is a channel with its one slot filled.
    bool locked() const { return ch_.ready(); }

private:
    void unlock()
    {
        ch_.try_receive([](boost::system::error_code) {});
    }
    asio::experimental::channel<void(boost::system::error_code)> ch_;
};

}  // namespace imagewatch
