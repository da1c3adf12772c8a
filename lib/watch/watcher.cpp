#include "watch/watcher.hpp"

#include "config/diff.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "watch/local.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_set>

namespace imagewatch::watch {

using steady = std::chrono::steady_clock;
using sys = std::chrono::system_clock;

// One watched runtime. Between checks it is an entry in due_ (or nothing, with watch disabled):
// no coroutine, timer or pending operation per sleeping runtime (measured: ~1.7 KiB each).
struct watcher::task
{
    explicit task(config::runtime r) : rt(std::move(r)) {}
    enum class phase
    {
        idle,     // in due_, or not scheduled
        waiting,  // due, queued for a check slot of its registry host
        running,  // a check (and maybe a refresh) in progress
    };
    config::runtime rt;
    phase ph = phase::idle;
    steady::time_point next = steady::time_point::min();  // min: new, not yet seen by apply()
    std::optional<std::multimap<steady::time_point, std::shared_ptr<task>>::iterator> due;
    bool stop_requested = false;
    bool triggered = false;
    int failures = 0;
    runtime_status st;
    std::shared_ptr<shared_check> shared;  // of rt.image and shared_platform
    std::string shared_platform;
};

// The last result and the in-flight request for one image (and platform): runtimes sharing an
// image share one registry request. `done` never expires by itself; re-arming it wakes waiters.
struct watcher::shared_check
{
    explicit shared_check(asio::any_io_executor ex) : done(ex, steady::time_point::max()) {}
    std::shared_ptr<const result<registry::resolved>> last;  // shared with the runtimes it answered
    steady::time_point at{};
    bool in_flight = false;
    asio::steady_timer done;
};

// Checks in flight for one registry host, and the due runtimes waiting for one of its slots.
struct watcher::host_checks
{
    std::size_t in_flight = 0;
    std::deque<std::shared_ptr<task>> waiting;
    // Null once the watcher is gone: a check frame destroyed with the io_context after the
    // watcher (shutdown with a check in flight) then frees its slot without calling back.
    watcher* owner = nullptr;
};

watcher::watcher(asio::any_io_executor ex, registry::client& registry, docker::api& docker, refresh_queue& queue,
                 std::function<std::string()> platform)
    : ex_(ex),
      registry_(registry),
      docker_(docker),
      queue_(queue),
      platform_(std::move(platform)),
      tick_(std::move(ex), steady::time_point::max())
{}

watcher::~watcher()
{
    for (auto& [host, h] : host_checks_)
        h->owner = nullptr;
}

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
    std::vector<config::runtime> before;
    before.reserve(tasks_.size());
    for (const auto& t : tasks_)
        before.push_back(t->rt);
    const auto d = config::diff_runtimes(before, cfg.runtimes);
    // Changed runtimes get a new task: the old one finishes a swap in progress under its old target.
    std::unordered_set<std::string_view> replaced(d.changed.begin(), d.changed.end());
    replaced.insert(d.removed.begin(), d.removed.end());
    std::vector<std::shared_ptr<task>> next;
    for (const auto& rt : cfg.runtimes)
    {
        if (auto it = by_name_.find(rt.name); it != by_name_.end() && !replaced.contains(rt.name))
        {
            it->second->rt = rt;  // rollout settings are read at each refresh: the task and its state stay
            next.push_back(it->second);
            continue;
        }
        auto t = std::make_shared<task>(rt);
        t->st.name = rt.name;
        t->st.image = rt.image.str();
        next.push_back(t);
    }
    std::erase_if(tasks_, [&](const auto& t) { return !replaced.contains(t->rt.name); });
    // Whatever is left was removed or changed: retire it (a swap in progress finishes first).
    for (auto& old : tasks_)
    {
        log::info("stopping watch task", {{"runtime", old->rt.name}});
        old->stop_requested = true;
        unschedule(*old);
        tracker_.forget(old->rt.name);
        auto& m = metrics::global();
        m.forget("imagewatch_checks_total", "runtime", old->rt.name);
        m.forget("imagewatch_last_check_timestamp_seconds", "runtime", old->rt.name);
        if (old->ph == task::phase::running)
            retiring_.push_back(old);
    }
    tasks_ = std::move(next);
    by_name_.clear();
    for (const auto& t : tasks_)
        by_name_.emplace(t->rt.name, t);
    std::erase_if(checks_, [](const auto& kv) { return kv.second.use_count() == 1; });  // images no task uses
    // Slots of hosts with nothing in flight or waiting: a host no runtime uses any more goes, the
    // others come back at their next check.
    std::erase_if(host_checks_, [](const auto& kv) { return kv.second->in_flight == 0 && kv.second->waiting.empty(); });

    const auto now = steady::now();
    // A new task checks within the jitter. One with the same target keeps its state and schedule, a
    // new interval applying from now; one in a check is scheduled with the new settings when it ends.
    for (auto& t : tasks_)
    {
        if (t->next == steady::time_point::min())
        {
            log::info("watch task started", {{"runtime", t->rt.name}, {"image", t->rt.image.str()}});
            t->next = now + jittered(duration(0), watch_.jitter);
            resume(t, t->next);
        }
        else if (t->ph == task::phase::idle)
            resume(t, std::min(t->next, now + jittered(watch_.interval, watch_.jitter)));
    }
}

void watcher::resume(const std::shared_ptr<task>& t, steady::time_point at)
{
    if (t->triggered)
        schedule(t, steady::now());
    else if (watch_.enabled)
        schedule(t, at);
    else
    {
        unschedule(*t);
        t->st.next_check.reset();
    }
}

void watcher::schedule(const std::shared_ptr<task>& t, steady::time_point when)
{
    unschedule(*t);
    t->due = due_.emplace(when, t);
    t->st.next_check = sys::now() + std::chrono::duration_cast<sys::duration>(when - steady::now());
    if (!loop_running_)
    {
        loop_running_ = true;
        asio::co_spawn(ex_, run_schedule(), [this](std::exception_ptr e) {
            loop_running_ = false;
            if (e)
                log::error("watch scheduler failed", {{"error", exception_message(e)}});
        });
    }
    else if (when < tick_.expiry())
        tick_.expires_at(when);  // cancels the loop's wait: it looks at due_ again
}

void watcher::unschedule(task& t)
{
    if (t.due)
        due_.erase(*t.due);
    t.due.reset();
}

awaitable<void> watcher::run_schedule()
{
    while (!stopped_)
    {
        // Whatever is due within the next few milliseconds goes now, too: a thousand runtimes
        // spread over an interval then share wake-ups instead of one timer re-arm each.
        const auto now = steady::now() + std::chrono::milliseconds(10);
        while (!due_.empty() && due_.begin()->first <= now)
        {
            auto t = due_.begin()->second;
            due_.erase(due_.begin());
            t->due.reset();
            dispatch(std::move(t));
        }
        tick_.expires_at(due_.empty() ? steady::time_point::max() : due_.begin()->first);
        co_await tick_.async_wait(nothrow_awaitable);
    }
}

void watcher::dispatch(std::shared_ptr<task> t)
{
    if (t->stop_requested || stopped_ || t->ph != task::phase::idle)
        return;
    // Two tasks never own one runtime: a retiring predecessor finishes its step first.
    if (std::any_of(retiring_.begin(), retiring_.end(), [&](const auto& r) { return r->rt.name == t->rt.name; }))
    {
        schedule(t, steady::now() + std::chrono::milliseconds(50));
        return;
    }
    // A bounded number of checks per registry host at once, so runtimes on a dead registry fill
    // only that registry's slots; the others queue here, holding no frame (measured: 1.5 MB of
    // waiting check frames with 1000 runtimes due at once).
    auto& h = host_checks_[t->rt.image.registry];
    if (!h)
    {
        h = std::make_shared<host_checks>();
        h->owner = this;
    }
    if (h->in_flight >= max_checks_in_flight)
    {
        t->ph = task::phase::waiting;
        h->waiting.push_back(std::move(t));
        return;
    }
    start(std::move(t), h);
}

void watcher::start(std::shared_ptr<task> t, std::shared_ptr<host_checks> h)
{
    ++h->in_flight;
    t->ph = task::phase::running;
    // The slot is freed when check_once lets go of it (after the registry part).
    std::shared_ptr<host_checks> slot(h.get(), [h](host_checks*) {
        if (h->owner)
            h->owner->release(h);
    });
    asio::co_spawn(ex_, check_once(t, std::move(slot)), [this, t](std::exception_ptr e) {
        t->ph = task::phase::idle;
        if (e)
        {
            log::error("watch check failed", {{"runtime", t->rt.name}, {"error", exception_message(e)}});
            // A bug, not a registry answer: back off like an error and go on.
            t->failures = std::max(t->failures, 1);
        }
        t->next = steady::now() + next_wait(*t);
        std::erase(retiring_, t);
        if (t->stop_requested || stopped_)
            t->st.next_check.reset();
        else
            resume(t, t->next);
    });
}

void watcher::release(const std::shared_ptr<host_checks>& h)
{
    --h->in_flight;
    while (h->in_flight < max_checks_in_flight && !h->waiting.empty())
    {
        auto t = std::move(h->waiting.front());
        h->waiting.pop_front();
        t->ph = task::phase::idle;
        if (t->stop_requested || stopped_)
            continue;
        start(std::move(t), h);
    }
}

duration watcher::next_wait(const task& t)
{
    // Errors back off exponentially, capped at the interval; then the registry's Retry-After.
    duration wait = jittered(watch_.interval, watch_.jitter);
    if (t.failures > 0)
    {
        const duration backoff(1000L << std::min(t.failures - 1, 20));
        wait = std::min(backoff, watch_.interval);
    }
    if (auto ra = registry_.retry_after(t.rt.image.registry))
        wait = std::max(wait, std::chrono::duration_cast<duration>(*ra));
    return wait;
}

bool watcher::trigger(const std::string& runtime)
{
    auto it = by_name_.find(runtime);
    if (it == by_name_.end())
        return false;
    auto& t = it->second;
    t->triggered = true;
    if (t->ph == task::phase::idle && !t->stop_requested && !stopped_)
        schedule(t, steady::now());
    return true;
}

void watcher::stop()
{
    stopped_ = true;
    for (auto& t : tasks_)
    {
        t->stop_requested = true;
        unschedule(*t);
        if (t->ph != task::phase::running)
            t->st.next_check.reset();
    }
    for (auto& [host, h] : host_checks_)
    {
        for (auto& t : h->waiting)
            t->ph = task::phase::idle;
        h->waiting.clear();
    }
    tick_.cancel();
}

std::vector<runtime_status> watcher::status() const
{
    std::vector<runtime_status> out;
    out.reserve(tasks_.size());
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
        n += !t->stop_requested || t->ph == task::phase::running ? 1u : 0u;
    for (const auto& t : retiring_)
        n += t->ph == task::phase::running ? 1u : 0u;
    return n;
}

awaitable<std::shared_ptr<const result<registry::resolved>>> watcher::resolve_shared(task& t, std::string platform,
                                                                                     duration max_age)
{
    if (!t.shared || t.shared_platform != platform)
    {
        auto& slot = checks_[t.rt.image.str() + "|" + platform];
        if (!slot)
            slot = std::make_shared<shared_check>(ex_);
        t.shared = slot;
        t.shared_platform = platform;
    }
    auto sc = t.shared;  // keep it alive across suspension even if the map changes
    const auto& image = t.rt.image;
    if (!sc->in_flight && sc->last && sc->last->has_value() && max_age.count() > 0 && steady::now() - sc->at <= max_age)
        co_return sc->last;
    if (sc->in_flight)
    {
        while (sc->in_flight)
            co_await sc->done.async_wait(nothrow_awaitable);
        co_return sc->last;
    }
    sc->in_flight = true;
    // No deadline of its own: every step of a resolve is bounded (each request by the connect and
    // request timeouts, a credential helper by its own), and a with_timeout per check (a timer, a
    // spawned coroutine and a parallel_group) was a sixth of a warm check's instructions.
    auto r = co_await registry_.resolve(image, platform);
    sc->last = std::make_shared<const result<registry::resolved>>(std::move(r));
    sc->at = steady::now();
    sc->in_flight = false;
    sc->done.expires_at(steady::time_point::max());  // wakes every waiter
    co_return sc->last;
}

awaitable<void> watcher::check_once(std::shared_ptr<task> tp, std::shared_ptr<host_checks> slot)
{
    task& t = *tp;
    const bool forced = std::exchange(t.triggered, false);
    const std::string& name = t.rt.name;
    const auto started = steady::now();
    const auto shared = co_await resolve_shared(t, platform_(), forced ? duration(0) : watch_.interval / 2);
    const auto& r = *shared;
    slot.reset();  // the registry part is done; a refresh below may take minutes
    auto& m = metrics::global();
    m.observe("imagewatch_check_duration_seconds", {}, std::chrono::duration<double>(steady::now() - started).count());
    t.st.last_check = sys::now();
    m.set("imagewatch_last_check_timestamp_seconds", {{"runtime", name}},
          static_cast<double>(
              std::chrono::duration_cast<std::chrono::seconds>(t.st.last_check->time_since_epoch()).count()));
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
    if (!tracker_.seen(name))
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
        // Automatic: the rollout window and min_age apply.
        refresh::request rq;
        rq.automatic = true;
        rq.digest = r->digest;
        auto out = co_await queue_.run(t.rt, std::move(rq));
        const auto has = [&](const std::vector<std::string>& v) {
            return std::find(v.begin(), v.end(), name) != v.end();
        };
        const bool ok = !out.fatal && has(out.result.pulled) &&
                        std::none_of(out.result.errors.begin(), out.result.errors.end(),
                                     [&](const auto& f) { return f.runtime == name; });
        // A halted rollout is not retried on the same image (a newer digest or a forced POST
        // is), and notify mode has nothing to retry: both keep the digest. A deferred update
        // (window, min_age) is decided again at the next check.
        tracker_.settle(name, (ok && !has(out.result.deferred)) || has(out.result.halted) || has(out.result.notified));
        if (has(out.result.deferred))
        {
            t.st.last_result = "deferred";
            break;
        }
        t.st.containers = static_cast<int>(out.result.recreated.size() + out.result.skipped.size());
        for (const auto& f : out.result.errors)
            t.st.containers += f.container.empty() ? 0 : 1;
        if (!ok)
        {
            std::string why = out.fatal                   ? *out.fatal
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
