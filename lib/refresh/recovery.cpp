#include "refresh/recovery.hpp"

#include "core/json_fields.hpp"
#include "docker/recreate_spec.hpp"

#include <algorithm>

namespace imagewatch::refresh {

container_facts facts_from_inspect(const boost::json::object& inspect)
{
    container_facts f;
    f.id = string_field(inspect, "Id");
    const auto* state = object_field(inspect, "State");
    f.running = bool_field(state, "Running");
    f.up = f.running && !bool_field(state, "Paused") && !bool_field(state, "Restarting");
    if (state)
        if (const auto* h = object_field(*state, "Health"))
            f.health = string_field(*h, "Status");
    if (const auto* cfg = object_field(inspect, "Config"))
    {
        if (const auto* labels = object_field(*cfg, "Labels"))
            f.replaced_from = string_field(*labels, docker::replaced_from_label);
        if (const auto* v = cfg->if_contains("StopTimeout"); v && v->is_int64() && v->get_int64() >= 0)
            f.stop_timeout = std::chrono::seconds(v->get_int64());
    }
    if (const auto* settings = object_field(inspect, "NetworkSettings"))
        if (const auto* networks = object_field(*settings, "Networks"))
            for (const auto& kv : *networks)
                f.networks.emplace(kv.key());
    return f;
}

recovery_plan plan_recovery(const container_facts& parked, bool was_running,
                            const std::optional<container_facts>& current)
{
    recovery_plan plan;
    const bool ours = current && !parked.id.empty() && current->replaced_from == parked.id;
    if (current && !ours)
    {
        plan.kind = recovery_kind::foreign;
        return plan;
    }
    const bool complete =
        ours && (was_running ? current->up && (current->health.empty() || current->health == "healthy")
                             : std::includes(current->networks.begin(), current->networks.end(),
                                             parked.networks.begin(), parked.networks.end()));
    if (complete)
    {
        plan.kind = recovery_kind::commit;
        return plan;
    }
    plan.kind = recovery_kind::restore;
    plan.remove_replacement = ours;
    // A stop whose client died is carried on by Docker; stopping again waits for it to end, so
    // the start that follows is not undone by it.
    plan.stop_original = was_running && parked.running;
    plan.start_original = was_running;
    return plan;
}

}  // namespace imagewatch::refresh
