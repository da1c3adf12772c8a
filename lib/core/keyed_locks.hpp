#pragma once
// Locks named by what they protect ("image:reg/app:1", "container:ws-1"), so work that touches
// different things runs concurrently and work that touches the same thing takes turns. I/O-ish.
// With more than one slot a key admits that many holders at once (a registry endpoint's
// connections).
//
// A holder takes all its keys in one lock() call, in sorted order, and never adds to them: two
// holders can then never wait for each other in a cycle. Entries exist only while held or awaited.
#include "core/async_mutex.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch {

class keyed_locks
{
    using table = std::map<std::string, std::shared_ptr<async_semaphore>>;
    struct holding
    {
        std::string key;
        std::shared_ptr<async_semaphore> sem;  // a waiter's reference keeps the entry alive
        async_semaphore::guard guard;
    };

public:
    explicit keyed_locks(asio::any_io_executor ex, std::size_t slots = 1) : ex_(std::move(ex)), slots_(slots) {}

    // Releases its keys on destruction, in reverse order, and drops the entries nobody else holds
    // or awaits. It may outlive the keyed_locks (coroutine frames destroyed with the io_context).
    class guard
    {
    public:
        explicit guard(std::weak_ptr<table> t) : table_(std::move(t)) {}
        guard(guard&&) noexcept = default;
        guard& operator=(guard&&) = delete;
        ~guard()
        {
            auto t = table_.lock();  // null once the keyed_locks is gone
            for (auto h = held_.rbegin(); h != held_.rend(); ++h)
            {
                h->guard = {};
                if (!t)
                    continue;
                if (auto e = t->find(h->key); e != t->end() && e->second == h->sem && h->sem.use_count() == 2)
                    t->erase(e);  // nobody else holds or awaits it
            }
        }

    private:
        friend class keyed_locks;
        std::weak_ptr<table> table_;
        std::vector<holding> held_;
    };

    // Waits for every key. Cancellation while waiting throws operation_aborted.
    awaitable<guard> lock(std::vector<std::string> keys)
    {
        auto g = co_await lock(std::move(keys), std::nothrow);
        if (!g)
            throw boost::system::system_error(asio::error::operation_aborted, "keyed_locks::lock");
        co_return std::move(*g);
    }
    // The same, but a cancelled wait returns nullopt, holding nothing.
    awaitable<std::optional<guard>> lock(std::vector<std::string> keys, std::nothrow_t)
    {
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        guard g(locks_);
        g.held_.reserve(keys.size());
        for (auto& k : keys)
        {
            auto& sem = (*locks_)[k];
            if (!sem)
                sem = std::make_shared<async_semaphore>(ex_, slots_);
            auto& h = g.held_.emplace_back(holding{std::move(k), sem, {}});
            h.guard = co_await h.sem->acquire(std::nothrow);
            if (!h.guard)
                co_return std::nullopt;  // g lets go of what it took
        }
        co_return std::move(g);
    }

    // Whether any holder has this key (status, tests).
    bool held(const std::string& key) const
    {
        auto it = locks_->find(key);
        return it != locks_->end() && it->second->held() > 0;
    }
    std::size_t entries() const { return locks_->size(); }

private:
    asio::any_io_executor ex_;
    std::size_t slots_;
    std::shared_ptr<table> locks_ = std::make_shared<table>();
};

}  // namespace imagewatch
