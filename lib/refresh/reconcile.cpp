#include "refresh/reconcile.hpp"

#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "docker/recreate_spec.hpp"
#include "refresh/select.hpp"

#include <boost/json/value.hpp>

#include <algorithm>

namespace imagewatch::refresh {

awaitable<reconcile_report> reconcile(docker::api& docker, std::vector<config::runtime> runtimes)
{
    reconcile_report rep;
    auto listed = co_await docker.list_containers();
    if (!listed)
    {
        rep.errors.push_back("container list: " + listed.error().message);
        co_return rep;
    }
    for (const auto& parked : *listed)
    {
        if (!is_old_name(parked.name))
            continue;
        const std::string name = parked.name.substr(0, parked.name.size() - old_name_for("").size());
        if (std::none_of(runtimes.begin(), runtimes.end(), [&](const config::runtime& rt) {
                return name_and_labels_match(rt.containers, name, parked.labels);
            }))
            continue;
        const docker::container_summary* current = nullptr;
        for (const auto& c : *listed)
            if (c.name == name)
                current = &c;
        const bool ours = current && current->labels.contains(std::string(docker::replaced_from_label)) &&
                          current->labels.at(std::string(docker::replaced_from_label)) == parked.id;
        if (current && !ours)
        {
            rep.errors.push_back(
                parked.name + ": a container named " + name +
                " exists that is not its replacement; left both alone, resolve by hand"
            );
            continue;
        }
        // Verified means running, and healthy when it has a healthcheck (the swap's own rule).
        bool verified = ours && current->state == "running";
        if (verified)
            if (auto ins = co_await docker.inspect_container(current->id); ins)
                if (const auto* st = object_field(*ins, "State"))
                    if (const auto* h = object_field(*st, "Health"))
                        if (auto* hs = h->if_contains("Status"); hs && hs->is_string())
                            verified = hs->get_string() == "healthy";
        if (verified)
        {
            if (auto r = co_await docker.remove_container(parked.id, false); !r)
                rep.errors.push_back(parked.name + ": remove: " + r.error().message);
            else
            {
                log::info("interrupted swap completed: replacement runs, original removed", {{"container", name}});
                rep.committed.push_back(name);
            }
            continue;
        }
        if (ours)
            if (auto r = co_await docker.remove_container(current->id, true); !r)
            {
                rep.errors.push_back(name + ": remove unverified replacement: " + r.error().message);
                continue;
            }
        if (auto r = co_await docker.rename_container(parked.id, name); !r)
        {
            rep.errors.push_back(parked.name + ": rename back: " + r.error().message);
            continue;
        }
        if (auto r = co_await docker.start_container(parked.id); !r)
            rep.errors.push_back(name + ": restart original: " + r.error().message);
        log::info("interrupted swap rolled back: original restored", {{"container", name}});
        rep.restored.push_back(name);
    }
    for (const auto& e : rep.errors)
        log::error("reconcile", {{"error", e}});
    co_return rep;
}

}  // namespace imagewatch::refresh
