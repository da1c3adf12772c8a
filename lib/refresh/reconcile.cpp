#include "refresh/reconcile.hpp"

#include "core/log.hpp"
#include "refresh/recovery.hpp"
#include "refresh/select.hpp"

#include <algorithm>

namespace imagewatch::refresh {
namespace {

constexpr std::chrono::seconds docker_stop_default{10};  // Docker's own, for a container without StopTimeout

}  // namespace

awaitable<reconcile_report> reconcile(docker::api& docker, std::vector<config::runtime> runtimes,
                                      std::function<bool(std::string_view)> in_flight)
{
    reconcile_report rep;
    auto listed = co_await docker.list_containers();
    if (!listed)
    {
        rep.errors.push_back("container list: " + listed.error().message);
        co_return rep;
    }
    for (const auto& listed_parked : *listed)
    {
        const auto pn = parse_old_name(listed_parked.name);
        if (!pn)
            continue;
        const std::string& name = pn->name;
        const std::string& parked_as = listed_parked.name;
        if (std::none_of(runtimes.begin(), runtimes.end(), [&](const config::runtime& rt) {
                return name_and_labels_match(rt.containers, name, listed_parked.labels);
            }))
            continue;
        if (in_flight && in_flight(name))
            continue;  // a swap of this process is under way: it is not interrupted, only unfinished

        auto parked_inspect = co_await docker.inspect_container(listed_parked.id);
        if (!parked_inspect)
        {
            rep.errors.push_back(parked_as + ": inspect: " + parked_inspect.error().message);
            continue;
        }
        const container_facts parked = facts_from_inspect(*parked_inspect);
        std::optional<container_facts> current;
        if (auto holder = std::find_if(listed->begin(), listed->end(), [&](const auto& c) { return c.name == name; });
            holder != listed->end())
        {
            auto ins = co_await docker.inspect_container(holder->id);
            if (!ins)
            {
                rep.errors.push_back(name + ": inspect: " + ins.error().message);
                continue;
            }
            current = facts_from_inspect(*ins);
        }

        const recovery_plan plan = plan_recovery(parked, pn->was_running, current);
        if (plan.kind == recovery_kind::foreign)
        {
            rep.errors.push_back(parked_as + ": a container named " + name +
                                 " exists that is not its replacement; left both alone, resolve by hand");
            continue;
        }
        if (plan.kind == recovery_kind::commit)
        {
            if (auto r = co_await docker.remove_container(parked.id, false); !r)
                rep.errors.push_back(parked_as + ": remove: " + r.error().message);
            else
            {
                log::info("interrupted swap completed: replacement kept, original removed",
                          {{"container", name}, {"state", pn->was_running ? "running" : "stopped"}});
                rep.committed.push_back(name);
            }
            continue;
        }
        if (plan.remove_replacement)
            if (auto r = co_await docker.remove_container(current->id, true); !r)
            {
                rep.errors.push_back(name + ": remove unfinished replacement: " + r.error().message);
                continue;
            }
        // Stop and start under the parked name, rename back last: see recovery_plan.
        if (plan.stop_original)
            if (auto r = co_await docker.stop_container(parked.id, parked.stop_timeout.value_or(docker_stop_default));
                !r)
                rep.errors.push_back(parked_as + ": stop before restart: " + r.error().message);
        if (plan.start_original)
            if (auto r = co_await docker.start_container(parked.id); !r)
                rep.errors.push_back(parked_as + ": restart original: " + r.error().message);
        if (auto r = co_await docker.rename_container(parked.id, name); !r)
        {
            rep.errors.push_back(parked_as + ": rename back: " + r.error().message);
            continue;
        }
        log::info("interrupted swap rolled back: original restored",
                  {{"container", name}, {"state", pn->was_running ? "running" : "stopped"}});
        rep.restored.push_back(name);
    }
    for (const auto& e : rep.errors)
        log::error("reconcile", {{"error", e}});
    co_return rep;
}

}  // namespace imagewatch::refresh
