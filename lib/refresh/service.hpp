#pragma once
// refresh::service: pull runtimes' images, then safely replace the selected containers that are
// not on the pulled image (docs/http-api.md, docs/swap.md). Orchestration over docker::api.
//
// One refresh runs at a time: callers (admin endpoint, watcher, --once) queue on an async mutex,
// so a container is never swapped by two refreshes at once.
#include "config/config.hpp"
#include "core/async_mutex.hpp"
#include "docker/api.hpp"
#include "refresh/result.hpp"
#include "refresh/swap.hpp"
#include "refresh/swarm_update.hpp"

#include <functional>
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct settings
{
    std::string platform;                     // "" = daemon default
    std::chrono::milliseconds pull_timeout{600'000};
    swap_settings swap;
    swarm_update_settings swarm;
    std::string self_id;                      // imagewatch's own container (self::detect()); never replaced
};

settings settings_from(const config::config& cfg);

// X-Registry-Auth value for pulling an image ("" = anonymous). Injected so credentials come
// from the live config and environment at each refresh; a coroutine because a docker credential
// helper may have to run.
using registry_auth_fn = std::function<awaitable<std::string>(image_ref)>;

class service
{
public:
    // docker must outlive the service.
    service(asio::any_io_executor ex, docker::api& docker, registry_auth_fn registry_auth);

    // Refreshes `runtimes` (config order). Per-runtime and per-container failures are reported in
    // the result; only a failed container listing makes the outcome fatal.
    awaitable<outcome> refresh(std::vector<config::runtime> runtimes, bool recreate, settings s);

    bool busy() const { return mutex_.locked(); }

private:
    docker::api& docker_;
    registry_auth_fn registry_auth_;
    async_mutex mutex_;
};

// Counts a finished refresh into imagewatch_refreshes_total{runtime,result} (ok / error).
void count(const std::vector<config::runtime>& runtimes, const outcome& out);

}  // namespace imagewatch::refresh
