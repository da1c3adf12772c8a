#include "watch/refresh_queue.hpp"

#include "core/log.hpp"
#include "core/task_group.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace imagewatch::watch {

// The follow-up run that late triggers join. `done` is a timer used as a condition variable:
// it never expires by itself and is cancelled when the result is set.
struct refresh_queue::batch
{
    batch(asio::any_io_executor ex, config::runtime r, refresh::request q)
        : rt(std::move(r)), rq(std::move(q)), done(ex, asio::steady_timer::time_point::max())
    {}
    config::runtime rt;
    refresh::request rq;
    std::optional<refresh::outcome> result;
    asio::steady_timer done;
};

refresh_queue::refresh_queue(asio::any_io_executor ex, refresh::service& svc,
                             std::function<refresh::settings()> settings)
    : ex_(std::move(ex)), svc_(svc), settings_(std::move(settings))
{}

bool refresh_queue::busy() const
{
    return std::any_of(slots_.begin(), slots_.end(), [](const auto& kv) { return kv.second.running; });
}

awaitable<refresh::outcome> refresh_queue::execute(config::runtime rt, refresh::request rq)
{
    std::vector<config::runtime> one{rt};
    auto out = co_await svc_.refresh(one, std::move(rq), settings_());
    refresh::count(one, out);
    if (on_outcome_)
        on_outcome_(rt, out);
    co_return out;
}

awaitable<refresh::outcome> refresh_queue::run(config::runtime rt, refresh::request rq)
{
    const std::string key = rt.name + (rq.recreate ? "|recreate" : "|pull");
    auto& s = slots_[key];
    if (!s.running)
    {
        s.running = true;
        refresh::outcome out;
        try
        {
            out = co_await execute(std::move(rt), std::move(rq));
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
        s.pending = std::make_shared<batch>(ex_, rt, rq);
    else
    {
        s.pending->rt = rt;
        s.pending->rq.automatic = s.pending->rq.automatic && rq.automatic;  // an operator's POST wins
        s.pending->rq.force = s.pending->rq.force || rq.force;
        if (!rq.digest.empty())
            s.pending->rq.digest = rq.digest;
    }
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
    // Still running: the follow-up takes over the slot.
    asio::co_spawn(ex_, execute(b->rt, b->rq), [this, key, b](std::exception_ptr e, refresh::outcome out) {
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

awaitable<refresh::outcome> refresh_queue::run_all(std::vector<config::runtime> rts, refresh::request rq)
{
    std::vector<refresh::outcome> parts(rts.size());
    task_group g(ex_);
    for (std::size_t i = 0; i < rts.size(); ++i)
        g.spawn([](refresh_queue& q, config::runtime rt, refresh::request r, refresh::outcome& out) -> awaitable<void> {
            out = co_await q.run(std::move(rt), std::move(r));
        }(*this, rts[i], rq, parts[i]));
    co_await g.wait();
    refresh::outcome all;
    for (const auto& p : parts)
        refresh::merge(all, p);
    co_return all;
}

}  // namespace imagewatch::watch
