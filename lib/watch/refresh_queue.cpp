#include "watch/refresh_queue.hpp"

#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

namespace imagewatch::watch {

// The follow-up run that late triggers join. `done` is a timer used as a condition variable:
// it never expires by itself and is cancelled when the result is set.
struct refresh_queue::batch
{
    batch(asio::any_io_executor ex, config::runtime r, bool rc)
        : rt(std::move(r)), recreate(rc), done(ex, asio::steady_timer::time_point::max())
    {
    }
    config::runtime rt;
    bool recreate;
    std::optional<refresh::outcome> result;
    asio::steady_timer done;
};

refresh_queue::refresh_queue(
    asio::any_io_executor ex, refresh::service& svc, std::function<refresh::settings()> settings
)
    : ex_(std::move(ex)), svc_(svc), settings_(std::move(settings))
{
}

bool refresh_queue::busy() const
{
    for (const auto& [k, s] : slots_)
        if (s.running)
            return true;
    return false;
}

awaitable<refresh::outcome> refresh_queue::execute(config::runtime rt, bool recreate)
{
    std::vector<config::runtime> one{rt};
    auto out = co_await svc_.refresh(one, recreate, settings_());
    refresh::count(one, out);
    if (on_outcome_)
        on_outcome_(rt, out);
    co_return out;
}

awaitable<refresh::outcome> refresh_queue::run(config::runtime rt, bool recreate)
{
    const std::string key = rt.name + (recreate ? "|recreate" : "|pull");
    auto& s = slots_[key];
    if (!s.running)
    {
        s.running = true;
        refresh::outcome out;
        try
        {
            out = co_await execute(std::move(rt), recreate);
        }
        catch (...)
        {
            start_follow_up(key);
            throw;
        }
        start_follow_up(key);
        co_return out;
    }
    // A run is in progress: join (or open) the single follow-up. The newest settings win.
    if (!s.pending)
        s.pending = std::make_shared<batch>(ex_, rt, recreate);
    else
        s.pending->rt = rt;
    log::debug("refresh already running; merged into the follow-up", {{"runtime", rt.name}});
    auto b = s.pending;
    while (!b->result)
        co_await b->done.async_wait(nothrow_awaitable);
    co_return *b->result;
}

void refresh_queue::start_follow_up(const std::string& key)
{
    auto& s = slots_[key];
    if (!s.pending)
    {
        s.running = false;
        return;
    }
    auto b = std::move(s.pending);
    s.pending.reset();
    // Still running: the follow-up takes over the slot.
    asio::co_spawn(ex_, execute(b->rt, b->recreate), [this, key, b](std::exception_ptr e, refresh::outcome out) {
        if (e)
        {
            out = refresh::outcome{};
            out.fatal = "internal error during refresh";
            log::error("refresh failed with an exception", {{"runtime", b->rt.name}, {"error", exception_message(e)}});
        }
        b->result = std::move(out);
        b->done.cancel();
        start_follow_up(key);
    });
}

awaitable<refresh::outcome> refresh_queue::run_all(std::vector<config::runtime> rts, bool recreate)
{
    refresh::outcome all;
    for (auto& rt : rts)
    {
        auto part = co_await run(std::move(rt), recreate);
        merge(all, part);
    }
    co_return all;
}

void merge(refresh::outcome& into, const refresh::outcome& part)
{
    auto append = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
    append(into.result.pulled, part.result.pulled);
    append(into.result.failed, part.result.failed);
    append(into.result.recreated, part.result.recreated);
    append(into.result.skipped, part.result.skipped);
    append(into.result.errors, part.result.errors);
    append(into.result.services, part.result.services);
    if (part.fatal && !into.fatal)
        into.fatal = part.fatal;
}

}  // namespace imagewatch::watch
