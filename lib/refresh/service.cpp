#include "refresh/service.hpp"

#include "core/duration.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"
#include "refresh/plan.hpp"
#include "refresh/reconcile.hpp"
#include "refresh/select.hpp"
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

std::string config_image(const boost::json::object& inspect)
{
    if (const auto* c = object_field(inspect, "Config"))
        return string_field(*c, "Image");
    return {};
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
    s.swarm.timeout = cfg.timeouts.service_update;
    return s;
}

service::service(asio::any_io_executor ex, docker::api& docker, registry_auth_fn registry_auth)
    : docker_(docker), registry_auth_(std::move(registry_auth)), mutex_(std::move(ex))
{
}

awaitable<outcome> service::refresh(std::vector<config::runtime> runtimes, bool recreate, settings s)
{
    auto hold = co_await mutex_.lock();
    outcome out;
    auto& res = out.result;

    // Pull each distinct image once; runtimes sharing an image share the outcome.
    std::map<std::string, std::optional<std::string>> pull_error;  // image -> error (nullopt = ok)
    std::vector<const config::runtime*> pulled;
    for (const auto& rt : runtimes)
    {
        const std::string image = rt.image.str();
        auto it = pull_error.find(image);
        if (it == pull_error.end())
        {
            log::info("pulling", {{"runtime", rt.name}, {"image", image}});
            std::string auth = co_await registry_auth_(rt.image);
            const auto started = std::chrono::steady_clock::now();
            auto r = co_await docker_.pull(
                rt.image, s.platform, std::move(auth), s.pull_timeout,
                [&](const docker::pull_totals& t) {
                    log::info("pull progress", {{"runtime", rt.name}, {"image", image}, {"layers_done", layers_text(t)}, {"bytes", bytes_text(t)}});
                }
            );
            it = pull_error.emplace(image, r ? std::nullopt : std::optional(r.error().message)).first;
            if (r)
                log::info(
                    "pulled",
                    {{"runtime", rt.name},
                     {"image", image},
                     {"layers_done", layers_text(*r)},
                     {"bytes", bytes_text(*r)},
                     {"took", format_duration(std::chrono::steady_clock::now() - started)}}
                );
            else
                log::warn("pull failed", {{"runtime", rt.name}, {"image", image}, {"error", r.error().message}});
        }
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
    if (!recreate)
        co_return out;
    // Swarm services are Swarm's to roll out: only their spec is written (swarm_update.hpp).
    co_await update_services(docker_, registry_auth_, pulled, s.swarm, res);

    // Listed even when every pull failed: an unreachable daemon must show as the fatal 500.
    auto listed = co_await docker_.list_containers();
    if (!listed)
    {
        log::error("container list failed", {{"error", listed.error().message}});
        out.fatal = "container list: " + listed.error().message;
        co_return out;
    }
    // A swap interrupted by a crash or a Docker restart left a parked original: settle it first,
    // from what Docker records, so nothing is lost and the name is free for this run.
    if (std::any_of(listed->begin(), listed->end(), [](const auto& c) { return is_old_name(c.name); }))
    {
        co_await reconcile(docker_, runtimes);
        listed = co_await docker_.list_containers();
        if (!listed)
        {
            out.fatal = "container list: " + listed.error().message;
            co_return out;
        }
    }
    if (pulled.empty())
        co_return out;

    // Phase 1: the selected containers, their owner runtime and whether they are stale.
    struct selected
    {
        const config::runtime* owner;
        boost::json::object inspect;
        std::string cfg_image;
    };
    std::vector<selected> sel;
    std::vector<candidate> cands;
    std::map<std::string, std::string> new_image_id;  // image -> image ID after the pull
    for (const auto& c : *listed)
    {
        const config::runtime* first = nullptr;
        for (const auto* rt : pulled)
            if (!first && name_and_labels_match(rt->containers, c.name, c.labels))
                first = rt;
        if (!first)
            continue;

        auto inspect = co_await docker_.inspect_container(c.id);
        if (!inspect)
        {
            // Gone between list and inspect: nothing of ours to replace.
            if (inspect.error().code != errc::not_found)
                res.errors.push_back({first->name, c.name, "inspect: " + inspect.error().message});
            continue;
        }
        const std::string cfg_image = config_image(*inspect);
        const config::runtime* owner = nullptr;
        for (const auto* rt : pulled)
            if (!owner && selects(*rt, c.name, cfg_image, c.labels))
                owner = rt;
        if (!owner)
            continue;
        if (self::is_self(s.self_id, c.id))
        {
            // Replacing it would stop the process doing the swap, half-way through.
            log::warn("not replacing imagewatch's own container", {{"runtime", owner->name}, {"container", c.name}});
            continue;
        }

        const std::string image = owner->image.str();
        if (!new_image_id.contains(image))
        {
            auto img = co_await docker_.inspect_image(image);
            if (!img)
            {
                res.errors.push_back({owner->name, c.name, "inspect pulled image: " + img.error().message});
                continue;
            }
            new_image_id[image] = string_field(*img, "Id");
        }
        std::string mode;
        if (const auto* hc = object_field(*inspect, "HostConfig"))
            mode = string_field(*hc, "NetworkMode");
        const bool stale = string_field(*inspect, "Image") != new_image_id[image];
        cands.push_back({c.id, c.name, network_parent_of(mode), stale});
        sel.push_back({owner, std::move(*inspect), cfg_image});
    }

    // Phase 2: parents before dependents; dependents of a replaced parent are recreated too.
    const auto plan = plan_swaps(cands);
    std::vector<bool> swapped_or_failed(cands.size());
    std::size_t step_no = 0;
    for (const auto& step : plan)
    {
        // "2 of 5": a refresh of many containers takes a while; say how far it has come.
        const std::string n_of_m = std::to_string(++step_no) + " of " + std::to_string(plan.size());
        auto& [owner, inspect, cfg_image] = sel[step.index];
        const std::string& name = cands[step.index].name;
        swapped_or_failed[step.index] = true;
        // container:<id> would point at a parent that a swap replaces: refer to it by name.
        if (const auto& ref = cands[step.index].network_parent; !ref.empty())
            for (const auto& c : *listed)
                if (c.name == ref || c.id == ref || (ref.size() >= 12 && c.id.starts_with(ref)))
                    inspect["HostConfig"].as_object()["NetworkMode"] = "container:" + c.name;
        log::info(
            step.forced ? "recreating container: its network parent was replaced" : "replacing container",
            {{"runtime", owner->name}, {"container", name}, {"image", owner->image.str()}, {"step", n_of_m}}
        );
        auto swapped = co_await swap_container(docker_, std::move(inspect), cfg_image, s.swap);
        if (swapped)
        {
            log::info("container replaced", {{"runtime", owner->name}, {"container", name}, {"step", n_of_m}});
            metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner->name}, {"result", "ok"}});
            res.recreated.push_back(name);
        }
        else
        {
            log::error(
                "container replacement failed",
                {{"runtime", owner->name}, {"container", name}, {"step", n_of_m}, {"error", swapped.error().message}}
            );
            res.errors.push_back({owner->name, name, swapped.error().message});
            metrics::global().inc("imagewatch_containers_replaced_total", {{"runtime", owner->name}, {"result", "error"}});
        }
    }
    for (std::size_t i = 0; i < cands.size(); ++i)
        if (!swapped_or_failed[i])
        {
            log::info("container already on the pulled image", {{"runtime", sel[i].owner->name}, {"container", cands[i].name}});
            res.skipped.push_back(cands[i].name);
        }
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
