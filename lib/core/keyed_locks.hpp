#pragma once
// Locks named by what they protect ("image:reg/app:1", "container:ws-1"), so work that touches
// different things runs concurrently and work that touches the same thing takes turns. I/O-ish.
//
// A holder takes all its keys in one lock() call, in sorted order, and never adds to them: two
// holders can then never wait for each other in a cycle. Entries exist only while held or awaited.
#include "core/async_mutex.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch {

class keyed_locks
{
    struct holding
    {
        std::string key;
        std::shared_ptr<async_mutex> mutex;
        std::optional<async_mutex::guard> guard;
    };

public:
    explicit keyed_locks(asio::any_io_executor ex) : ex_(std::move(ex)) {}

    class guard
    {
    public:
        guard(keyed_locks* owner, std::vector<holding> h) : owner_(owner), held_(std::move(h)) {}
        guard(guard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), held_(std::move(o.held_)) {}
        guard& operator=(guard&&) = delete;
        ~guard()
        {
            if (owner_)
                owner_->release(held_);
        }

    private:
        keyed_locks* owner_;
        std::vector<holding> held_;
    };

    awaitable<guard> lock(std::vector<std::string> keys)
    {
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        std::vector<holding> h;
        h.reserve(keys.size());
        for (auto& k : keys)
        {
            auto& slot = locks_[k];
            if (!slot)
                slot = std::make_shared<async_mutex>(ex_);
            auto m = slot;  // a waiter's reference keeps the entry alive
            holding e{std::move(k), m, std::nullopt};
            e.guard.emplace(co_await m->lock());
            h.push_back(std::move(e));
        }
        co_return guard(this, std::move(h));
    }

    // Whether any holder has this key (status, tests).
    bool held(const std::string& key) const
    {
        auto it = locks_.find(key);
        return it != locks_.end() && it->second->locked();
    }
    std::size_t entries() const { return locks_.size(); }

private:
    void release(std::vector<holding>& h)
    {
        for (auto it = h.rbegin(); it != h.rend(); ++it)
        {
            it->guard.reset();
            auto m = std::move(it->mutex);
            if (auto e = locks_.find(it->key); e != locks_.end() && e->second == m && m.use_count() == 2)
                locks_.erase(e);  // nobody else holds or awaits it
        }
        h.clear();
    }

    asio::any_io_executor ex_;
    std::map<std::string, std::shared_ptr<async_mutex>> locks_;
};

}  // namespace imagewatch
