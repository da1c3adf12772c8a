#include "refresh/service.hpp"

#include "core/duration.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"
#include "refresh/plan.hpp"
#include "refresh/reconcile.hpp"
#include "refresh/select.hpp"
#include "refresh/selection.hpp"
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

}  // namespace

settings settings_from(const config::config& cfg)
{
    settings s;
    s.platform = cfg.docker.platform;
    s.pull_timeout = cfg.timeouts.pull;
    s.swap.stop_default = std::chrono::duration_cast<std::chrono::seconds>(cfg.timeouts.stop_default);
    s.swap.health_timeout = cfg.timeouts.health;
    s.swap.grace = std::min<std::chrono::milliseconds>(s.swap.grace, cfg.timeouts.health);
    return s;
}

service::service(asio::any_io_executor ex, docker::api& docker, registry_auth_fn registry_auth)
    : docker_(docker), registry_auth_(std::move(registry_auth)), mutex_(std::move(ex))
{
}

awaitable<std::vector<const config::runtime*>>
service::pull(const std::vector<config::runtime>& runtimes, const settings& s, refresh_result& res)
{
    // Each distinct image once; runtimes sharing an image share the outcome.
    std::map<std::string, std::optional<std::string>> pull_error;  // image -> error (nullopt = ok)
    std::vector<const config::runtime*> pulled;
    for (const auto& rt : runtimes)
    {
        const std::string image = rt.image.str();
        auto it = pull_error.find(image);
        if (it == pull_error.end())
            it = pull_error.emplace(image, co_await pull_image(rt, s)).first;
        if (it->second)
        {
            res.failed.push_back(rt.name);
            res.errors.push_back({rt.name, "", "pull: " + *it->second});
        }
        else
        {
            res.pulled.push_back(rt.name);
            pulled.push_back(&rt);
        }
    }
    co_return pulled;
}

awaitable<std::optional<std::string>> service::pull_image(const config::runtime& rt, const settings& s)
{
    const std::string image = rt.image.str();
    log::info("pulling", {{"runtime", rt.name}, {"image", image}});
    std::string auth = co_await registry_auth_(rt.image);
    const auto started = std::chrono::steady_clock::now();
    auto r = co_await docker_.pull(
        rt.image, s.platform, std::move(auth), s.pull_timeout,
        [&](const docker::pull_totals& t) {
            log::info("pull progress", {{"runtime", rt.name}, {"image", image}, {"layers_done", layers_text(t)}, {"bytes", bytes_text(t)}});
        }
    );
    if (!r)
    {
        log::warn("pull failed", {{"runtime", rt.name}, {"image", image}, {"error", r.error().message}});
        co_return r.error().message;
    }
    log::info(
        "pulled", {{"runtime", rt.name},
                   {"image", image},
                   {"layers_done", layers_text(*r)},
                   {"bytes", bytes_text(*r)},
                   {"took", format_duration(std::chrono::steady_clock::now() - started)}}
    );
    co_return std::nullopt;
}

awaitable<result<std::vector<docker::container_summary>>> service::list_settled(const std::vector<config::runtime>& runtimes)
{
    auto listed = co_await docker_.list_containers();
    if (!listed)
        co_return listed;
    // A swap interrupted by a crash or a Docker restart left a parked original: settle it first,
    // from what Docker records, so nothing is lost and the name is free for this run.
    if (std::any_of(listed->begin(), listed->end(), [](const auto& c) { return is_old_name(c.name); }))
    {
        co_await reconcile(docker_, runtimes);
        listed = co_await docker_.list_containers();
    }
    co_return listed;
}

awaitable<swap_plan> service::select(
    const std::vector<const config::runtime*>& pulled, const std::vector<docker::container_summary>& listed,
    const settings& s, refresh_result& res
)
{
    swap_plan p;
    auto sel = co_await select_containers(docker_, pulled, listed);
    res.errors.insert(res.errors.end(), sel.errors.begin(), sel.errors.end());
    std::map<std::string, std::string> new_image_id;  // image -> image ID after the pull
    for (auto& c : sel.containers)
    {
        if (self::is_self(s.self_id, c.listed.id))
        {
            // Replacing it would stop the process doing the swap, half-way through.
            log::warn("not replacing imagewatch's own container", {{"runtime", c.owner->name}, {"container", c.listed.name}});
            continue;
        }
        const std::string image = c.owner->image.str();
        if (!new_image_id.contains(image))
        {
            auto img = co_await docker_.inspect_image(image);
            if (!img)
            {
                res.errors.push_back({c.owner->name, c.listed.name, "inspect pulled image: " + img.error().message});
                continue;
            }
            new_image_id[image] = string_field(*img, "Id");
        }
        std::string mode;
        if (const auto* hc = object_field(c.inspect, "HostConfig"))
            mode = string_field(*hc, "NetworkMode");
        const bool stale = string_field(c.inspect, "Image") != new_image_id[image];
        p.candidates.push_back({c.listed.id, c.listed.name, network_parent_of(mode), stale});
        p.selected.push_back(std::move(c));
    }
    // Parents before dependents; dependents of a replaced parent are recreated too.
    p.steps = plan_swaps(p.candidates);
    // container:<id> would point at a parent that a swap replaces: refer to it by name.
    for (std::size_t i = 0; i < p.candidates.size(); ++i)
        if (const auto& ref = p.candidates[i].network_parent; !ref.empty())
            for (const auto& c : listed)
                if (c.name == ref || c.id == ref || (ref.size() >= 12 && c.id.starts_with(ref)))
                    p.selected[i].inspect["HostConfig"].as_object()["NetworkMode"] = "container:" + c.name;
    co_return p;
}

awaitable<void> service::execute(swap_plan p, const settings& s, refresh_result& res)
{
    std::vector<bool> planned(p.candidates.size());
    std::size_t step_no = 0;
    for (const auto& step : p.steps)
    {
        planned[step.index] = true;
        // "2 of 5": a refresh of many containers takes a while; say how far it has come.
        const std::string n_of_m = std::to_string(++step_no) + " of " + std::to_string(p.steps.size());
        co_await swap_one(p.selected[step.index], step.forced, n_of_m, s, res);
    }
    for (std::size_t i = 0; i < p.candidates.size(); ++i)
        if (!planned[i])
        {
            log::info("container already on the pulled image", {{"runtime", p.selected[i].owner->name}, {"container", p.candidates[i].name}});
            res.skipped.push_back(p.candidates[i].name);
        }
}

awaitable<bool> service::swap_one(selected_container& c, bool forced, const std::string& n_of_m, const settings& s, refresh_result& res)
{
    const auto& owner = *c.owner;
    const std::string name = c.listed.name;
    log::info(
        forced ? "recreating container: its network parent was replaced" : "replacing container",
        {{"runtime", owner.name}, {"container", name}, {"image", owner.image.str()}, {"step", n_of_m}}
    );
    auto swapped = co_await swap_container(docker_, std::move(c.inspect), c.config_image, s.swap);
    if (!swapped)
    {
        log::error(
            "container replacement failed",
            {{"runtime", owner.name}, {"container", name}, {"step", n_of_m}, {"error", swapped.error().message}}
        );
        res.errors.push_back({owner.name, name, swapped.error().message});
        metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner.name}, {"result", "error"}});
        co_return false;
    }
    log::info("container replaced", {{"runtime", owner.name}, {"container", name}, {"step", n_of_m}});
    metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner.name}, {"result", "ok"}});
    res.recreated.push_back(name);
    co_return true;
}

awaitable<outcome> service::refresh(std::vector<config::runtime> runtimes, bool recreate, settings s)
{
    auto hold = co_await mutex_.lock();
    outcome out;
    const auto pulled = co_await pull(runtimes, s, out.result);
    if (!recreate)
        co_return out;
    // Listed even when every pull failed: an unreachable daemon must show as the fatal 500.
    auto listed = co_await list_settled(runtimes);
    if (!listed)
    {
        log::error("container list failed", {{"error", listed.error().message}});
        out.fatal = "container list: " + listed.error().message;
        co_return out;
    }
    if (pulled.empty())
        co_return out;
    co_await execute(co_await select(pulled, *listed, s, out.result), s, out.result);
    co_return out;
}

void count(const std::vector<config::runtime>& runtimes, const outcome& out)
{
    for (const auto& rt : runtimes)
    {
        bool failed = out.fatal.has_value();
        for (const auto& f : out.result.errors)
            failed = failed || f.runtime == rt.name;
        metrics::global().inc("imagewatch_refreshes_total", {{"runtime", rt.name}, {"result", failed ? "error" : "ok"}});
    }
}

}  // namespace imagewatch::refresh
