#pragma once
// Locks named by what they protect ("image:reg/app:1", "container:ws-1"), so work that touches
// different things runs concurrently and work that touches the same thing takes turns. I/O-ish.
// With more than one slot a key admits that many holders at once (a registry endpoint's
// connections).
//
// A holder takes all its keys in one lock() call, in sorted order, and never adds to them: two
// holders can then never wait for each other in a cycle. Entries exist only while held or awaited.
#include "core/async_mutex.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch {

class keyed_locks
{
    using table = std::map<std::string, std::shared_ptr<async_semaphore>, std::less<>>;
    struct holding
    {
        table::iterator entry;                 // valid while the table lives: only its last user erases it
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
                if (h->sem.use_count() == 2)
                    t->erase(h->entry);  // nobody else holds or awaits it
            }
        }

    private:
        friend class keyed_locks;
        std::weak_ptr<table> table_;
        boost::container::small_vector<holding, 1> held_;  // most holders take one key
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
        co_return co_await lock_sorted({keys.begin(), keys.end()});
    }
    // One key, which must outlive the wait; a cancelled wait returns nullopt.
    awaitable<std::optional<guard>> lock(std::string_view key, std::nothrow_t) { return lock_sorted({key}); }

    // One key, taken at once if a slot is free (nothing suspends, nothing queues); nullopt when
    // every slot is held, and then lock() waits its turn.
    std::optional<guard> try_lock(std::string_view key)
    {
        auto e = entry(key);
        auto taken = e->second->try_acquire();
        if (!taken)
            return std::nullopt;  // the entry has holders: it stays
        guard g(locks_);
        g.held_.push_back(holding{e, e->second, std::move(taken)});
        return g;
    }

    // Whether any holder has this key (status, tests).
    bool held(std::string_view key) const
    {
        auto it = locks_->find(key);
        return it != locks_->end() && it->second->held() > 0;
    }
    std::size_t entries() const { return locks_->size(); }

private:
    awaitable<std::optional<guard>> lock_sorted(boost::container::small_vector<std::string_view, 1> keys)
    {
        guard g(locks_);
        g.held_.reserve(keys.size());
        for (auto k : keys)
        {
            auto e = entry(k);
            auto& h = g.held_.emplace_back(holding{e, e->second, {}});
            if (auto [ec] = co_await h.sem->wait(); ec)
                co_return std::nullopt;  // g lets go of what it took
            h.guard = h.sem->adopt();
        }
        co_return std::move(g);
    }

    table::iterator entry(std::string_view key)
    {
        auto e = locks_->find(key);
        if (e == locks_->end())
            e = locks_->emplace(std::string(key), std::make_shared<async_semaphore>(ex_, slots_)).first;
        return e;
    }

    asio::any_io_executor ex_;
    std::size_t slots_;
    std::shared_ptr<table> locks_ = std::make_shared<table>();
};

}  // namespace imagewatch
