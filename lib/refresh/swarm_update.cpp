#include "refresh/swarm_update.hpp"

#include "core/duration.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/timeout.hpp"
#include "refresh/swarm_spec.hpp"

#include <algorithm>

namespace imagewatch::refresh {
namespace {

// Why a runtime's services cannot be handled on this engine; "" when it is an active manager.
std::string not_a_manager(const docker::swarm_info& info)
{
    if (info.local_node_state != "active")
        return "services are selected, but this Docker engine is not an active swarm member (Swarm state \"" +
               (info.local_node_state.empty() ? std::string("unknown") : info.local_node_state) + "\"" +
               (info.error.empty() ? std::string() : ": " + info.error) +
               "); run imagewatch against a swarm manager, or remove \"services\" from the config";
    if (!info.control_available)
        return "services are selected, but this Docker engine is a swarm worker: only a manager can update "
               "services; run imagewatch on a manager node (placement constraint node.role == manager)";
    return {};
}

// An update POSTed and not yet at its end.
struct rolling
{
    const config::runtime* rt;
    std::string id;
    std::string name;
    std::string image;           // pinned
    std::string started_before;  // UpdateStatus.StartedAt before the POST
    std::string cause = {};      // why Swarm began rolling back, if it was seen doing so
};

void report(refresh_result& res, service_report r)
{
    metrics::global().inc("imagewatch_services_updated_total", {{"runtime", r.runtime}, {"result", r.result}});
    if (r.result == "updated" || r.result == "skipped")
        log::info("service " + r.result, {{"runtime", r.runtime}, {"service", r.service}, {"image", r.image}});
    else
    {
        log::warn("service " + r.result,
                  {{"runtime", r.runtime}, {"service", r.service}, {"image", r.image}, {"message", r.message}});
        std::string what = r.result == "rolled_back" ? "rolled back by Swarm"
                           : r.result == "paused"    ? "update paused by Swarm"
                                                     : "update failed";
        res.errors.push_back(
            {r.runtime, "", "service " + r.service + ": " + what + (r.message.empty() ? "" : ": " + r.message)});
    }
    res.services.push_back(std::move(r));
}

// Reads the service and POSTs its pinned spec; a version conflict is re-read and retried once.
// Returns the update to follow, or nothing when the service was skipped or failed (reported).
awaitable<std::optional<rolling>> start_update(docker::api& docker, const config::runtime& rt, const std::string& id,
                                               const std::string& digest, const std::string& auth, refresh_result& res)
{
    std::string name = id;
    const auto failed = [&](std::string image, std::string message) {
        report(res, {rt.name, name, "failed", std::move(image), std::move(message)});
        return std::nullopt;
    };
    for (int attempt = 1;; ++attempt)
    {
        auto svc = co_await docker.inspect_service(id);
        if (!svc)
            co_return failed("", "inspect: " + svc.error().message);
        auto view = read_service(*svc);
        if (!view)
            co_return failed("", view.error().message);
        name = view->name;
        if (on_digest(*view, digest))
        {
            report(res, {rt.name, name, "skipped", view->image, ""});
            co_return std::nullopt;
        }
        const std::string pinned = pinned_image(view->image, digest);
        auto spec = updated_spec(*svc, pinned);
        if (!spec)
            co_return failed(pinned, spec.error().message);
        log::info("updating service",
                  {{"runtime", rt.name}, {"service", name}, {"image", pinned}, {"from", view->image}});
        auto posted = co_await docker.update_service(id, view->version, std::move(*spec), auth);
        if (posted)
            co_return rolling{&rt, id, name, pinned, view->status.started_at};
        if (attempt == 1 && is_out_of_sequence(posted.error()))
        {
            // Someone else wrote the service between our read and our write: read it again.
            log::info("service changed meanwhile; reading it again", {{"runtime", rt.name}, {"service", name}});
            continue;
        }
        co_return failed(pinned, posted.error().message);
    }
}

}  // namespace

awaitable<void> update_services(docker::api& docker,
                                const std::function<awaitable<std::string>(image_ref)>& registry_auth,
                                std::vector<const config::runtime*> pulled, swarm_update_settings s,
                                refresh_result& res)
{
    std::erase_if(pulled, [](const config::runtime* rt) { return !rt->services.has_value(); });
    if (pulled.empty())
        co_return;
    auto fail_all = [&](const std::string& why) {
        for (const auto* rt : pulled)
        {
            log::error("services not updated", {{"runtime", rt->name}, {"error", why}});
            res.errors.push_back({rt->name, "", why});
        }
    };

    auto info = co_await docker.swarm_state();
    if (auto why = info ? not_a_manager(*info) : "services: " + info.error().message; !why.empty())
    {
        fail_all(why);
        co_return;
    }
    auto listed = co_await docker.list_services("");
    if (!listed)
    {
        fail_all("services: " + listed.error().message);
        co_return;
    }
    std::vector<service_view> services;
    for (const auto& o : *listed)
        if (auto v = read_service(o))
            services.push_back(std::move(*v));

    std::vector<rolling> started;
    std::vector<bool> taken(services.size());  // a service belongs to the first runtime selecting it
    for (const auto* rt : pulled)
    {
        std::vector<std::size_t> mine;
        for (std::size_t i = 0; i < services.size(); ++i)
            if (!taken[i] && selects_service(*rt, services[i]))
                mine.push_back(i), taken[i] = true;
        if (mine.empty())
            continue;
        auto img = co_await docker.inspect_image(rt->image.str());
        std::string digest = img ? repo_digest(*img, rt->image) : std::string();
        if (digest.empty())
        {
            res.errors.push_back({rt->name, "",
                                  "services: no registry digest for the pulled " + rt->image.str() +
                                      (img ? std::string(" (its RepoDigests name no ") + rt->image.name() + ")"
                                           : ": " + img.error().message)});
            continue;
        }
        const std::string auth = co_await registry_auth(rt->image);
        for (auto i : mine)
            if (auto r = co_await start_update(docker, *rt, services[i].id, digest, auth, res))
                started.push_back(std::move(*r));
    }

    // Follow every started update to its end; Swarm rolls them out side by side.
    const auto deadline = std::chrono::steady_clock::now() + s.timeout;
    std::map<std::string, std::string> last_state;  // id -> UpdateStatus.State, for the timeout message
    while (!started.empty())
    {
        if (std::chrono::steady_clock::now() >= deadline)
        {
            for (const auto& r : started)
                report(res,
                       {r.rt->name, r.name, "failed", r.image,
                        "Swarm's rolling update did not finish within " + format_duration(s.timeout) + " (state \"" +
                            (last_state[r.id].empty() ? std::string("not started") : last_state[r.id]) +
                            "\"); it goes on in Swarm: see docker service ps " + r.name});
            break;
        }
        co_await sleep_for(s.poll);
        for (auto it = started.begin(); it != started.end();)
        {
            auto svc = co_await docker.inspect_service(it->id);
            if (!svc)
            {
                report(res, {it->rt->name, it->name, "failed", it->image, "inspect: " + svc.error().message});
                it = started.erase(it);
                continue;
            }
            const auto st = read_update_status(*svc);
            last_state[it->id] = st.started_at == it->started_before ? std::string() : st.state;
            const auto end = classify(st, it->started_before);
            if (end == update_end::in_progress)
            {
                // The final "rollback completed" does not say why: Swarm's reason is in this state.
                if (st.state == "rollback_started" && it->cause.empty())
                    it->cause = st.message;
                ++it;
                continue;
            }
            std::string message = st.message;
            if (end == update_end::rolled_back && !it->cause.empty() && it->cause != message)
                message += " (" + it->cause + ")";
            report(res, {it->rt->name, it->name, std::string(to_string(end)), it->image, message});
            it = started.erase(it);
        }
    }
}

}  // namespace imagewatch::refresh
