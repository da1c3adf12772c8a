#include "refresh/service.hpp"

#include "core/duration.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rfc3339.hpp"
#include "core/task_group.hpp"
#include "core/text.hpp"
#include "refresh/reconcile.hpp"
#include "refresh/select.hpp"
#include "refresh/swarm_spec.hpp"
#include "self/self.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <map>

namespace imagewatch::refresh {
namespace {

// "3/7" and "12.3MiB/40.1MiB" for the pull log lines.
std::string layers_text(const docker::pull_totals& t)
{
    return std::to_string(t.layers_done) + "/" + std::to_string(t.layers);
}

std::string bytes_text(const docker::pull_totals& t)
{
    return format_bytes(t.bytes_done) + "/" + format_bytes(t.bytes_total);
}

std::string until_text(std::chrono::system_clock::time_point at)
{
    return format_duration(
        std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::system_clock::now()));
}

// The listed container `ref` (an ID, an ID prefix of 12+ digits, or a name) names, or nullptr.
const docker::container_summary* find_listed(const std::vector<docker::container_summary>& listed,
                                             const std::string& ref)
{
    auto it = std::find_if(listed.begin(), listed.end(), [&](const auto& c) {
        return c.name == ref || c.id == ref || (ref.size() >= 12 && c.id.starts_with(ref));
    });
    return it == listed.end() ? nullptr : &*it;
}

// The name of the container that replaced the one `ref` named (its imagewatch.replaced-from label).
std::optional<std::string> replacement_of(const std::vector<docker::container_summary>& listed, const std::string& ref)
{
    for (const auto& c : listed)
        if (auto it = c.labels.find("imagewatch.replaced-from");
            it != c.labels.end() && ref.size() >= 12 && it->second.starts_with(ref))
            return c.name;
    return std::nullopt;
}

void set_swaps_gauge(std::size_t n) { metrics::global().set("imagewatch_swaps_in_flight", {}, static_cast<double>(n)); }

}  // namespace

settings settings_from(const config::config& cfg)
{
    settings s;
    s.platform = cfg.docker.platform;
    s.pull_timeout = cfg.timeouts.pull;
    s.swap.stop_default = std::chrono::duration_cast<std::chrono::seconds>(cfg.timeouts.stop_default);
    s.swap.health_timeout = cfg.timeouts.health;
    s.swap.grace = std::min<std::chrono::milliseconds>(s.swap.grace, cfg.timeouts.health);
    s.swarm.timeout = cfg.timeouts.service_update;
    return s;
}

service::service(asio::any_io_executor ex, docker::api& docker, registry_auth_fn registry_auth)
    : ex_(ex), docker_(docker), registry_auth_(std::move(registry_auth)), pulls_(ex, pull_slots), locks_(ex)
{}

std::optional<rollout_status> service::rollout_of(const std::string& runtime) const
{
    auto it = rollouts_.find(runtime);
    return it == rollouts_.end() ? std::nullopt : std::optional(it->second);
}

awaitable<outcome> service::refresh(std::vector<config::runtime> runtimes, request rq, settings s)
{
    // In the given order, one after the other: a runtime later in the list sees the containers an
    // earlier one replaced, so a network dependant follows a parent of another runtime. (The
    // daemon refreshes runtimes concurrently through watch::refresh_queue, one call each.)
    pull_memo pulled;
    outcome all;
    for (const auto& rt : runtimes)
        merge(all, co_await refresh_one(rt, rq, s, pulled));
    co_return all;
}

awaitable<outcome> service::refresh_one(const config::runtime& rt, request rq, settings s, pull_memo& pulled)
{
    ++active_;
    struct leave
    {
        std::size_t& n;
        ~leave() { --n; }
    } left{active_};
    outcome out;
    auto& res = out.result;
    const auto& ro = rt.rollout;
    const std::string image = rt.image.str();
    const auto now = std::chrono::system_clock::now();

    if (ro.mode == config::rollout_mode::notify)
    {
        log::info("mode notify: not pulling or replacing", {{"runtime", rt.name}, {"image", image}});
        res.notified.push_back(rt.name);
        co_return out;
    }
    if (rq.automatic && rq.recreate && ro.window && !config::window_open(*ro.window, now))
    {
        const auto opens = config::window_next_open(*ro.window, now);
        rollouts_[rt.name] = rollout_status{rq.digest, rollout_state::pending_window, 0, 0, 0, opens};
        log::info("outside the rollout window: the update waits",
                  {{"runtime", rt.name}, {"window", ro.window->text}, {"opens_in", until_text(opens)}});
        res.deferred.push_back(rt.name);
        co_return out;
    }

    // One refresh of an image at a time: its pull, and the swaps of every runtime that runs it.
    // (Named vectors: GCC 12 miscompiles a braced initializer inside a co_await expression.)
    std::vector<std::string> image_key{"image:" + image};
    auto image_lock = co_await locks_.lock(std::move(image_key));
    std::optional<std::string> pull_error;
    if (auto done = pulled.find(image); done != pulled.end())
        pull_error = done->second;
    else
    {
        auto slot = co_await pulls_.acquire();
        pull_error = co_await pull_image(rt, s);
        pulled[image] = pull_error;
    }
    if (pull_error)
    {
        res.failed.push_back(rt.name);
        res.errors.push_back({rt.name, "", "pull: " + *pull_error});
    }
    else
        res.pulled.push_back(rt.name);
    if (!rq.recreate)
        co_return out;
    // Listed even when the pull failed: an unreachable daemon must show as the fatal 500.
    auto listed = co_await list_settled(rt);
    if (!listed)
    {
        log::error("container list failed", {{"error", listed.error().message}});
        out.fatal = "container list: " + listed.error().message;
        co_return out;
    }
    if (pull_error)
        co_return out;

    auto img = co_await docker_.inspect_image(image);
    if (!img)
    {
        res.errors.push_back({rt.name, "", "inspect pulled image: " + img.error().message});
        co_return out;
    }
    const std::string image_id = string_field(*img, "Id");
    std::string digest = repo_digest(*img, rt.image);
    if (digest.empty())
        digest = rq.digest.empty() ? image_id : rq.digest;

    if (rq.automatic && ro.min_age.count() > 0)
    {
        const auto created = parse_rfc3339(string_field(*img, "Created"));
        if (auto wait = min_age_wait(created, ro.min_age, now))
        {
            rollouts_[rt.name] = rollout_status{digest, rollout_state::deferred_until, 0, 0, 0, *wait};
            log::info("image younger than min_age: the update waits",
                      {{"runtime", rt.name}, {"digest", log::short_digest(digest)}, {"applies_in", until_text(*wait)}});
            res.deferred.push_back(rt.name);
            co_return out;
        }
    }
    if (bad_.is_bad(rt.name, image_id) && !rq.force)
    {
        auto& st = rollouts_[rt.name];
        st.digest = digest;
        st.state = rollout_state::halted;
        res.halted.push_back(rt.name);
        res.errors.push_back({rt.name, "",
                              "rollout halted: image " + log::short_digest(digest) +
                                  " failed verification; it is retried when a newer image appears or with force=true"});
        co_return out;
    }

    // Swarm services are Swarm's to roll out: only their spec is written (swarm_update.hpp).
    std::vector<const config::runtime*> this_runtime{&rt};
    co_await update_services(docker_, registry_auth_, std::move(this_runtime), s.swarm, res);

    auto plan = co_await select(rt, image_id, *listed, s, res);
    // The containers this rollout touches, and the network parents its dependants follow (they may
    // belong to another runtime): one holder at a time.
    std::vector<std::string> keys;
    for (const auto& c : plan.candidates)
    {
        keys.push_back("container:" + c.name);
        if (!c.network_parent.empty())
            keys.push_back("container:" + c.network_parent);
    }
    auto container_locks = co_await locks_.lock(std::move(keys));

    auto& st = rollouts_[rt.name];
    st = rollout_status{digest, rollout_state::in_progress, 0, 0, plan.steps.size(), std::nullopt};
    if (plan.steps.empty())
    {
        st.state = rollout_state::done;
        bad_.clear(rt.name);
        co_await execute(plan, rt, s, st, res);  // reports the skipped ones
        co_return out;
    }
    metrics::global().inc("imagewatch_rollouts_total", {{"runtime", rt.name}, {"result", "started"}});
    log::info("rollout started", {{"runtime", rt.name},
                                  {"digest", log::short_digest(digest)},
                                  {"containers", std::to_string(plan.steps.size())},
                                  {"canary", std::to_string(ro.canary)},
                                  {"parallelism", std::to_string(ro.parallelism)},
                                  {"forced", rq.force ? "true" : "false"}});
    const auto end = co_await execute(plan, rt, s, st, res);
    const auto log_cut_short = [&](std::string_view msg) {
        log::error(msg, {{"runtime", rt.name},
                         {"digest", log::short_digest(digest)},
                         {"replaced", std::to_string(st.replaced)},
                         {"failed", std::to_string(st.failed)},
                         {"untouched", std::to_string(st.remaining)}});
    };
    // Interrupted: the swap's own error says what Docker did; the next refresh retries this image.
    if (end == rollout_end::interrupted)
        log_cut_short("rollout stopped: Docker failed under a swap; the image is retried at the next refresh");
    else if (end == rollout_end::halted)
    {
        bad_.mark(rt.name, image_id);
        st.state = rollout_state::halted;
        res.halted.push_back(rt.name);
        metrics::global().inc("imagewatch_rollouts_total", {{"runtime", rt.name}, {"result", "halted"}});
        log_cut_short("rollout halted: the image is not retried until a newer one appears or a forced refresh");
        if (st.remaining > 0)  // the failed swaps have their own errors; say what was left alone
            res.errors.push_back({rt.name, "",
                                  "rollout halted after " + std::to_string(st.replaced + st.failed) + " of " +
                                      std::to_string(plan.steps.size()) + " containers (" + std::to_string(st.failed) +
                                      " failed); " + std::to_string(st.remaining) + " left on the old image"});
    }
    else
    {
        bad_.clear(rt.name);
        st.state = rollout_state::done;
        metrics::global().inc("imagewatch_rollouts_total", {{"runtime", rt.name}, {"result", "done"}});
        log::info("rollout done", {{"runtime", rt.name},
                                   {"digest", log::short_digest(digest)},
                                   {"replaced", std::to_string(st.replaced)},
                                   {"failed", std::to_string(st.failed)}});
    }
    co_return out;
}

awaitable<std::optional<std::string>> service::pull_image(const config::runtime& rt, const settings& s)
{
    const std::string image = rt.image.str();
    log::info("pulling", {{"runtime", rt.name}, {"image", image}});
    std::string auth = co_await registry_auth_(rt.image);
    const auto started = std::chrono::steady_clock::now();
    auto r =
        co_await docker_.pull(rt.image, s.platform, std::move(auth), s.pull_timeout, [&](const docker::pull_totals& t) {
            log::info(
                "pull progress",
                {{"runtime", rt.name}, {"image", image}, {"layers_done", layers_text(t)}, {"bytes", bytes_text(t)}});
        });
    if (!r)
    {
        log::warn("pull failed", {{"runtime", rt.name}, {"image", image}, {"error", r.error().message}});
        co_return r.error().message;
    }
    log::info("pulled", {{"runtime", rt.name},
                         {"image", image},
                         {"layers_done", layers_text(*r)},
                         {"bytes", bytes_text(*r)},
                         {"took", format_duration(std::chrono::steady_clock::now() - started)}});
    co_return std::nullopt;
}

awaitable<result<std::vector<docker::container_summary>>> service::list_settled(const config::runtime& rt)
{
    auto listed = co_await docker_.list_containers();
    if (!listed)
        co_return listed;
    // A swap interrupted by a crash or a Docker restart left a parked original: settle it first,
    // from what Docker records, so nothing is lost and the name is free for this run. Swaps of
    // other runtimes under way in this process are not interrupted: they are left alone.
    const auto ours_in_flight = [this](std::string_view name) { return swapping_.contains(std::string(name)); };
    if (std::any_of(listed->begin(), listed->end(), [&](const auto& c) {
            auto p = parse_old_name(c.name);
            return p && !ours_in_flight(p->name);
        }))
    {
        std::vector<config::runtime> one{rt};
        co_await reconcile(docker_, std::move(one), ours_in_flight);
        listed = co_await docker_.list_containers();
    }
    co_return listed;
}

awaitable<swap_plan> service::select(const config::runtime& rt, const std::string& image_id,
                                     const std::vector<docker::container_summary>& listed, const settings& s,
                                     refresh_result& res)
{
    swap_plan p;
    std::vector<const config::runtime*> one{&rt};
    auto sel = co_await select_containers(docker_, std::move(one), listed);
    res.errors.insert(res.errors.end(), sel.errors.begin(), sel.errors.end());
    for (auto& c : sel.containers)
    {
        if (self::is_self(s.self_id, c.listed.id))
        {
            // Replacing it would stop the process doing the swap, half-way through.
            log::warn("not replacing imagewatch's own container", {{"runtime", rt.name}, {"container", c.listed.name}});
            continue;
        }
        std::string mode;
        if (const auto* hc = object_field(c.inspect, "HostConfig"))
            mode = string_field(*hc, "NetworkMode");
        bool stale = string_field(c.inspect, "Image") != image_id;
        std::string parent = network_parent_of(mode);
        if (!parent.empty() && !find_listed(listed, parent))
            if (auto next = replacement_of(listed, parent))
            {
                // Its parent was replaced (by another runtime's refresh): the namespace it joined
                // is gone. Recreate it in the replacement's.
                parent = *next;
                stale = true;
            }
        p.candidates.push_back({c.listed.id, c.listed.name, std::move(parent), stale});
        p.selected.push_back(std::move(c));
    }
    // Parents before dependents; dependents of a replaced parent are recreated too.
    p.steps = plan_swaps(p.candidates);
    // container:<id> would point at a parent that a swap replaces: refer to it by name.
    for (std::size_t i = 0; i < p.candidates.size(); ++i)
        if (auto& ref = p.candidates[i].network_parent; !ref.empty())
            if (const auto* c = find_listed(listed, ref))
            {
                p.selected[i].inspect["HostConfig"].as_object()["NetworkMode"] = "container:" + c->name;
                ref = c->name;  // the lock key
            }
    co_return p;
}

awaitable<service::rollout_end> service::execute(swap_plan& p, const config::runtime& rt, const settings& s,
                                                 rollout_status& st, refresh_result& res)
{
    std::vector<bool> planned(p.candidates.size());
    for (const auto& step : p.steps)
        planned[step.index] = true;
    for (std::size_t i = 0; i < p.candidates.size(); ++i)
        if (!planned[i])
        {
            log::info("container already on the pulled image",
                      {{"runtime", rt.name}, {"container", p.candidates[i].name}});
            res.skipped.push_back(p.candidates[i].name);
        }

    rollout_window window(p.steps, p.candidates, rt.rollout.canary, rt.rollout.parallelism, rt.rollout.max_failures);
    const std::string of_m = " of " + std::to_string(p.steps.size());
    std::size_t started = 0;
    std::size_t logged_at = 0;  // `done` at the last progress line
    bool canary_logged = false;
    bool docker_failed = false;
    task_group g(ex_);
    for (;;)
    {
        while (auto step_no = window.next())
        {
            const auto& step = p.steps[*step_no];
            // "2 of 5": a rollout of many containers takes a while; say how far it has come.
            g.spawn([](service& self, selected_container& c, bool forced, std::string n_of_m, const settings& set,
                       refresh_result& out, rollout_status& status, rollout_window& win, std::size_t plan_step,
                       bool& docker_gone) -> awaitable<void> {
                const std::string name = c.listed.name;
                self.swapping_.insert(name);
                set_swaps_gauge(self.swapping_.size());
                swap_end end = swap_end::failed;
                try
                {
                    end = co_await self.swap_one(c, forced, n_of_m, set, out);
                }
                catch (...)
                {
                    self.swapping_.erase(name);
                    set_swaps_gauge(self.swapping_.size());
                    throw;
                }
                self.swapping_.erase(name);
                set_swaps_gauge(self.swapping_.size());
                --status.remaining;
                ++(end == swap_end::replaced ? status.replaced : status.failed);
                win.finished(plan_step, end == swap_end::failed);
                if (end == swap_end::docker_failed)
                {
                    docker_gone = true;
                    win.stop();
                }
            }(*this, p.selected[step.index], step.forced, std::to_string(++started) + of_m, s, res, st, window,
                                          *step_no, docker_failed));
        }
        if (g.running() == 0)
            break;
        co_await g.wait_any();
        // A progress line once the canaries are through, then one per `parallelism` swaps.
        const std::size_t done = st.replaced + st.failed;
        const bool canary_line = !canary_logged && window.canaries() > 0 && window.canaries_done() && !window.halted();
        if (canary_line || done == p.steps.size() || done >= logged_at + window.width())
        {
            canary_logged = canary_logged || window.canaries_done();
            logged_at = done;
            log::info(canary_line ? "canary verified" : "rollout progress", {{"runtime", rt.name},
                                                                             {"done", std::to_string(done) + of_m},
                                                                             {"replaced", std::to_string(st.replaced)},
                                                                             {"failed", std::to_string(st.failed)}});
        }
    }
    co_await g.wait();
    if (window.halted())
        co_return rollout_end::halted;
    co_return docker_failed ? rollout_end::interrupted : rollout_end::done;
}

awaitable<service::swap_end> service::swap_one(selected_container& c, bool forced, const std::string& n_of_m,
                                               const settings& s, refresh_result& res)
{
    const auto& owner = *c.owner;
    const std::string name = c.listed.name;
    log::info(forced ? "recreating container: its network parent was replaced" : "replacing container",
              {{"runtime", owner.name}, {"container", name}, {"image", owner.image.str()}, {"step", n_of_m}});
    auto swapped = co_await swap_container(docker_, std::move(c.inspect), c.config_image, s.swap);
    if (!swapped)
    {
        log::error(
            "container replacement failed",
            {{"runtime", owner.name}, {"container", name}, {"step", n_of_m}, {"error", swapped.error().message}});
        res.errors.push_back({owner.name, name, swapped.error().message});
        metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner.name}, {"result", "error"}});
        const auto code = swapped.error().code;
        co_return code == errc::unreachable || code == errc::cancelled ? swap_end::docker_failed : swap_end::failed;
    }
    log::info("container replaced", {{"runtime", owner.name}, {"container", name}, {"step", n_of_m}});
    metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner.name}, {"result", "ok"}});
    res.recreated.push_back(name);
    co_return swap_end::replaced;
}

void count(const std::vector<config::runtime>& runtimes, const outcome& out)
{
    for (const auto& rt : runtimes)
    {
        bool failed = out.fatal.has_value();
        for (const auto& f : out.result.errors)
            failed = failed || f.runtime == rt.name;
        metrics::global().inc("imagewatch_refreshes_total",
                              {{"runtime", rt.name}, {"result", failed ? "error" : "ok"}});
    }
}

void log_outcome(const outcome& out)
{
    log::info(out.fatal ? "refresh failed" : "refresh done",
              {{"pulled", std::to_string(out.result.pulled.size())},
               {"failed", std::to_string(out.result.failed.size())},
               {"recreated", std::to_string(out.result.recreated.size())},
               {"skipped", std::to_string(out.result.skipped.size())},
               {"errors", std::to_string(out.result.errors.size())}});
}

}  // namespace imagewatch::refresh
