#include "hooks/scheduler.hpp"

#include "core/log.hpp"
#include "core/timeout.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace imagewatch::hooks {

struct detail::scheduler_state
{
    asio::any_io_executor ex;
    std::function<bool(const std::string&)> trigger;
    std::function<observed(const std::string&)> look;
    scheduler_settings s;
    std::map<std::string, std::string> waiting;  // runtime -> digest its follow-up waits for
    bool stopped = false;
};

namespace {

// Waits until the watcher reports a check newer than `since`; false on timeout or stop.
awaitable<bool> check_done(std::shared_ptr<detail::scheduler_state> st, const std::string& name,
                           std::optional<std::chrono::system_clock::time_point> since)
{
    const auto end = std::chrono::steady_clock::now() + st->s.check_timeout;
    while (!st->stopped && std::chrono::steady_clock::now() < end)
    {
        auto o = st->look(name);
        if (o.last_check && (!since || *o.last_check > *since))
            co_return true;
        co_await sleep_for(st->s.poll);
    }
    co_return false;
}

awaitable<void> follow_up(std::shared_ptr<detail::scheduler_state> st, std::string name,
                          std::optional<std::chrono::system_clock::time_point> since)
{
    auto delay = st->s.first_delay;
    for (int n = 0;; ++n)
    {
        if (!co_await check_done(st, name, since))
            break;
        auto o = st->look(name);
        auto it = st->waiting.find(name);
        if (it == st->waiting.end() || o.digest == it->second)
            break;
        if (n >= st->s.max_follow_ups)
        {
            log::warn("webhook: the registry still serves another digest; leaving it to the next check",
                      {{"runtime", name},
                       {"expected", log::short_digest(it->second)},
                       {"seen", log::short_digest(o.digest.value_or(""))}});
            break;
        }
        co_await sleep_for(delay);
        delay *= 2;
        if (st->stopped)
            break;
        since = st->look(name).last_check;
        log::debug("webhook: checking again for the announced digest", {{"runtime", name}});
        if (!st->trigger(name))
            break;
    }
    st->waiting.erase(name);
}

}  // namespace

check_scheduler::check_scheduler(asio::any_io_executor ex, std::function<bool(const std::string&)> trigger,
                                 std::function<observed(const std::string&)> look, scheduler_settings s)
    : st_(std::make_shared<detail::scheduler_state>(
          detail::scheduler_state{std::move(ex), std::move(trigger), std::move(look), s, {}, false}))
{}

check_scheduler::~check_scheduler() { st_->stopped = true; }

std::vector<std::string> check_scheduler::schedule(const std::vector<check_request>& requests)
{
    std::vector<std::string> triggered;
    for (const auto& r : requests)
    {
        const auto since = st_->look(r.runtime).last_check;
        if (!st_->trigger(r.runtime))
            continue;
        triggered.push_back(r.runtime);
        if (r.digest.empty())
            continue;
        if (st_->waiting.insert_or_assign(r.runtime, r.digest).second)  // no follow-up running yet
            asio::co_spawn(st_->ex, follow_up(st_, r.runtime, since), asio::detached);
    }
    return triggered;
}

std::size_t check_scheduler::following() const { return st_->waiting.size(); }

}  // namespace imagewatch::hooks
