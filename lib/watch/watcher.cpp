#include "watch/watcher.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "watch/local.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace imagewatch::watch {

using steady = std::chrono::steady_clock;
using sys = std::chrono::system_clock;

struct watcher::task
{
    task(asio::any_io_executor ex, config::runtime r) : rt(std::move(r)), wake(ex) {}
    config::runtime rt;
    asio::steady_timer wake;  // sleeps between checks; cancel() = look at the flags now
    steady::time_point next = steady::time_point::min();
    bool stop_requested = false;
    bool triggered = false;
    bool reschedule = false;
    bool finished = false;
    int failures = 0;
    runtime_status st;
};

// The last result and the in-flight request for one image (and platform): runtimes sharing an
// image share one registry request. `done` never expires by itself; re-arming it wakes waiters.
struct watcher::shared_check
{
    explicit shared_check(asio::any_io_executor ex) : done(ex, steady::time_point::max()) {}
    std::optional<result<registry::resolved>> last;
    steady::time_point at{};
    bool in_flight = false;
    asio::steady_timer done;
};

// Checks in flight for one registry host. The last holder of a slot (check_once, through the
// shared_ptr acquire_check_slot returns) frees it.
struct watcher::host_checks
{
    explicit host_checks(asio::any_io_executor ex) : freed(std::move(ex), steady::time_point::max()) {}
    std::size_t in_flight = 0;
    asio::steady_timer freed;  // never expires; cancel_one() wakes one waiting check
};

namespace {

awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(nothrow_awaitable);
}

sys::time_point to_system(steady::time_point tp) { return sys::now() + std::chrono::duration_cast<sys::duration>(tp - steady::now()); }

bool refresh_ok(const refresh::outcome& out, const std::string& name)
{
    if (out.fatal || std::find(out.result.pulled.begin(), out.result.pulled.end(), name) == out.result.pulled.end())
        return false;
    return std::none_of(out.result.errors.begin(), out.result.errors.end(), [&](const auto& f) { return f.runtime == name; });
}

}  // namespace

watcher::watcher(
    asio::any_io_executor ex, registry::client& registry, docker::api& docker, refresh_queue& queue,
    std::function<std::string()> platform
)
    : ex_(std::move(ex)), registry_(registry), docker_(docker), queue_(queue), platform_(std::move(platform))
{
}

watcher::~watcher() = default;

duration watcher::jittered(duration base, duration jitter)
{
    if (jitter.count() <= 0)
        return base;
    std::uniform_int_distribution<long long> d(0, jitter.count());
    return base + duration(d(rng_));
}

void watcher::apply(const config::config& cfg)
{
    watch_ = cfg.watch;
    tracker_.set_apply_on_start(cfg.watch.apply_on_start);
    std::vector<std::shared_ptr<task>> next;
    std::vector<std::shared_ptr<task>> fresh;
    for (const auto& rt : cfg.runtimes)
    {
        auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const auto& t) { return t->rt.name == rt.name; });
        if (it != tasks_.end() && (*it)->rt == rt)
        {
            // Same target: keep state and schedule; a new interval applies from now.
            (*it)->reschedule = true;
            (*it)->wake.cancel();
            next.push_back(*it);
            tasks_.erase(it);
            continue;
        }
        auto t = std::make_shared<task>(ex_, rt);
        t->st.name = rt.name;
        t->st.image = rt.image.str();
        next.push_back(t);
        fresh.push_back(t);
    }
    // Whatever is left was removed or changed: retire it (a swap in progress finishes first).
    for (auto& old : tasks_)
    {
        log::info("stopping watch task", {{"runtime", old->rt.name}});
        old->stop_requested = true;
        old->wake.cancel();
        tracker_.forget(old->rt.name);
        auto& m = metrics::global();
        m.forget("imagewatch_checks_total", "runtime", old->rt.name);
        m.forget("imagewatch_last_check_timestamp_seconds", "runtime", old->rt.name);
        if (!old->finished)
            retiring_.push_back(old);
    }
    tasks_ = std::move(next);
    by_name_.clear();
    for (const auto& t : tasks_)
        by_name_.emplace(t->rt.name, t);
    for (auto& t : fresh)
        spawn(t);
}

void watcher::spawn(std::shared_ptr<task> t)
{
    log::info("watch task started", {{"runtime", t->rt.name}, {"image", t->rt.image.str()}});
    asio::co_spawn(ex_, run_task(t), [this, t](std::exception_ptr e) {
        t->finished = true;
        std::erase(retiring_, t);
        if (!e)
            return;
        try
        {
            std::rethrow_exception(e);
        }
        catch (const std::exception& ex)
        {
            log::error("watch task failed", {{"runtime", t->rt.name}, {"error", ex.what()}});
        }
        // A bug killed the task: restart it unless it was meant to stop.
        if (!t->stop_requested && !stopped_ &&
            std::find(tasks_.begin(), tasks_.end(), t) != tasks_.end())
        {
            t->finished = false;
            t->failures = std::max(t->failures, 1);
            spawn(t);
        }
    });
}

bool watcher::trigger(const std::string& runtime)
{
    auto it = by_name_.find(runtime);
    if (it == by_name_.end())
        return false;
    it->second->triggered = true;
    it->second->wake.cancel();
    return true;
}

void watcher::stop()
{
    stopped_ = true;
    for (auto& t : tasks_)
    {
        t->stop_requested = true;
        t->wake.cancel();
    }
}

std::vector<runtime_status> watcher::status() const
{
    std::vector<runtime_status> out;
    for (const auto& t : tasks_)
        out.push_back(t->st);
    return out;
}

const runtime_status* watcher::status_of(const std::string& runtime) const
{
    auto it = by_name_.find(runtime);
    return it == by_name_.end() ? nullptr : &it->second->st;
}

std::size_t watcher::tasks() const
{
    std::size_t n = 0;
    for (const auto& t : tasks_)
        n += t->finished ? 0 : 1;
    for (const auto& t : retiring_)
        n += t->finished ? 0 : 1;
    return n;
}

awaitable<void> watcher::run_task(std::shared_ptr<task> t)
{
    // Two tasks never own one runtime: wait for a retiring predecessor to finish its step.
    while (!t->stop_requested && std::any_of(retiring_.begin(), retiring_.end(), [&](const auto& r) {
               return r->rt.name == t->rt.name && !r->finished;
           }))
        co_await sleep_for(std::chrono::milliseconds(50));

    if (t->next == steady::time_point::min())
        t->next = steady::now() + jittered(duration(0), watch_.jitter);
    for (;;)
    {
        if (t->stop_requested)
            break;
        if (!t->triggered)
        {
            const bool enabled = watch_.enabled;
            if (enabled)
            {
                t->wake.expires_at(t->next);
                t->st.next_check = to_system(t->next);
            }
            else
            {
                t->wake.expires_at(steady::time_point::max());  // only triggers wake it
                t->st.next_check.reset();
            }
            co_await t->wake.async_wait(nothrow_awaitable);
            if (t->stop_requested)
                break;
            if (std::exchange(t->reschedule, false) && enabled)
                t->next = std::min(t->next, steady::now() + jittered(watch_.interval, watch_.jitter));
            if (!t->triggered && (!watch_.enabled || steady::now() < t->next))
                continue;
        }
        const bool forced = std::exchange(t->triggered, false);
        // Wait for a slot here, in this small frame: with a thousand runtimes due at once, most
        // wait, and a waiting check_once frame was 1.5 KiB each (measured: 1.5 MB at start-up).
        auto slot = co_await acquire_check_slot(t->rt.image.registry);
        co_await check_once(*t, forced, std::move(slot));

        // Errors back off exponentially, capped at the interval; then the registry's Retry-After.
        duration wait = jittered(watch_.interval, watch_.jitter);
        if (t->failures > 0)
        {
            const duration backoff(1000L << std::min(t->failures - 1, 20));
            wait = std::min(backoff, watch_.interval);
        }
        if (auto ra = registry_.retry_after(t->rt.image.registry))
            wait = std::max(wait, std::chrono::duration_cast<duration>(*ra));
        t->next = steady::now() + wait;
    }
    t->st.next_check.reset();
}

awaitable<result<registry::resolved>> watcher::resolve_shared(image_ref image, std::string platform, duration max_age)
{
    const std::string key = image.str() + "|" + platform;
    auto& slot = checks_[key];
    if (!slot)
        slot = std::make_shared<shared_check>(ex_);
    auto sc = slot;  // keep it alive across suspension even if the map changes
    if (!sc->in_flight && sc->last && sc->last->has_value() && max_age.count() > 0 && steady::now() - sc->at <= max_age)
        co_return *sc->last;
    if (sc->in_flight)
    {
        while (sc->in_flight)
            co_await sc->done.async_wait(nothrow_awaitable);
        co_return *sc->last;
    }
    sc->in_flight = true;
    // No deadline of its own: every step of a resolve is bounded (each request by the connect and
    // request timeouts, a credential helper by its own), and a with_timeout per check (a timer, a
    // spawned coroutine and a parallel_group) was a sixth of a warm check's instructions.
    auto r = co_await registry_.resolve(image, platform);
    sc->last = r;
    sc->at = steady::now();
    sc->in_flight = false;
    sc->done.expires_at(steady::time_point::max());  // wakes every waiter
    co_return r;
}

awaitable<std::shared_ptr<watcher::host_checks>> watcher::acquire_check_slot(const std::string& registry_host)
{
    // A bounded number of checks per registry host at once, so runtimes on a dead registry fill
    // only that registry's slots.
    auto& hc = host_checks_[registry_host];
    if (!hc)
        hc = std::make_shared<host_checks>(ex_);
    auto h = hc;  // stays valid while we wait
    while (h->in_flight >= max_checks_in_flight)
        co_await h->freed.async_wait(nothrow_awaitable);
    ++h->in_flight;
    // Shares ownership of h; its deleter frees the slot.
    co_return std::shared_ptr<host_checks>(h.get(), [h](host_checks* p) {
        --p->in_flight;
        p->freed.cancel_one();
    });
}

awaitable<void> watcher::check_once(task& t, bool forced, std::shared_ptr<host_checks> slot)
{
    const std::string& name = t.rt.name;
    const auto started = steady::now();
    auto r = co_await resolve_shared(t.rt.image, platform_(), forced ? duration(0) : watch_.interval / 2);
    slot.reset();  // the registry part is done; a refresh below may take minutes
    auto& m = metrics::global();
    m.observe("imagewatch_check_duration_seconds", {}, std::chrono::duration<double>(steady::now() - started).count());
    t.st.last_check = sys::now();
    m.set("imagewatch_last_check_timestamp_seconds", {{"runtime", name}},
          static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(t.st.last_check->time_since_epoch()).count()));
    const auto fail = [&](const std::string& msg) {
        ++t.failures;
        t.st.last_result = "error";
        t.st.last_error = msg;
        m.inc("imagewatch_checks_total", {{"runtime", name}, {"result", "error"}});
        log::warn("digest check failed", {{"runtime", name}, {"error", msg}, {"failures", std::to_string(t.failures)}});
    };
    if (!r)
    {
        fail(r.error().message);
        co_return;
    }
    t.st.digest = r->digest;

    observation o{r->digest, r->effective, std::nullopt};
    if (!tracker_.recorded(name))
    {
        // First observation: compare with what the local containers run (apply_on_start).
        auto local = co_await inspect_local(docker_, t.rt, r->digest, r->effective);
        if (!local)
        {
            fail(local.error().message);  // cannot tell yet: decide at the next check
            co_return;
        }
        o.local_stale = local->stale;
        t.st.containers = local->containers;
    }
    t.failures = 0;
    t.st.last_error.reset();
    switch (tracker_.observe(name, o))
    {
    case decision::seed:
        t.st.last_result = "seeded";
        m.inc("imagewatch_checks_total", {{"runtime", name}, {"result", "seeded"}});
        log::info("digest recorded", {{"runtime", name}, {"digest", log::short_digest(r->digest)}});
        break;
    case decision::unchanged:
        t.st.last_result = "unchanged";
        m.inc("imagewatch_checks_total", {{"runtime", name}, {"result", "unchanged"}});
        if (log::enabled(log::level::debug))
            log::debug("digest unchanged", {{"runtime", name}, {"digest", log::short_digest(r->digest)}});
        break;
    case decision::refresh:
    {
        t.st.last_result = "changed";
        m.inc("imagewatch_checks_total", {{"runtime", name}, {"result", "changed"}});
        log::info("digest moved, refreshing", {{"runtime", name}, {"digest", log::short_digest(r->digest)}});
        auto out = co_await queue_.run(t.rt, true);
        const bool ok = refresh_ok(out, name);
        tracker_.settle(name, ok);
        t.st.containers = static_cast<int>(out.result.recreated.size() + out.result.skipped.size());
        for (const auto& f : out.result.errors)
            t.st.containers += f.container.empty() ? 0 : 1;
        if (!ok)
        {
            std::string why = out.fatal ? *out.fatal
                              : out.result.errors.empty() ? std::string("refresh failed")
                                                          : out.result.errors.front().error;
            t.st.last_error = why;
            log::warn("refresh failed; the next check retries", {{"runtime", name}, {"error", why}});
        }
        break;
    }
    }
}

}  // namespace imagewatch::watch
