#pragma once
// Updating the Swarm services of runtimes whose image was pulled: through the Engine's service
// API, so Swarm's own rolling update (UpdateConfig) and rollback do the rollout. Orchestration
// over docker::api; the decisions are in swarm_spec.hpp.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "docker/api.hpp"
#include "refresh/result.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct swarm_update_settings
{
    std::chrono::milliseconds timeout{600'000};  // per refresh: all started updates reach an end state
    std::chrono::milliseconds poll{1000};        // UpdateStatus is re-read this often while rolling
};

// For each runtime in `pulled` that selects services (config `services`), in config order:
//  - the engine must be an active swarm manager, else one clear error per such runtime;
//  - every selected service not yet on the pulled image's registry digest gets its spec written
//    back with the image pinned to it (X-Registry-Auth from registry_auth, so every node can
//    pull); a version conflict is re-read and retried once;
//  - then all started updates are followed until UpdateStatus says completed, rollback_completed
//    or paused, or the timeout passes.
// Every service lands in res.services (updated, skipped, rolled_back, paused, failed); all but
// updated and skipped also add an error for the runtime. Runtimes without services cost no call.
awaitable<void> update_services(docker::api& docker,
                                const std::function<awaitable<std::string>(image_ref)>& registry_auth,
                                std::vector<const config::runtime*> pulled, swarm_update_settings s,
                                refresh_result& res);

}  // namespace imagewatch::refresh
