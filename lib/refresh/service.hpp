#pragma once
// refresh::service: pull runtimes' images, then safely replace the selected containers that are
// not on the pulled image (SPEC §1 "refresh", §5.1, §6). Orchestration over docker::api.
//
// One refresh runs at a time: callers (admin endpoint, watcher, --once) queue on an async mutex,
// so a container is never swapped by two refreshes at once.
#include "config/config.hpp"
#include "core/async_mutex.hpp"
#include "docker/api.hpp"
#include "refresh/plan.hpp"
#include "refresh/result.hpp"
#include "refresh/selection.hpp"
#include "refresh/swap.hpp"

#include <functional>
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct settings
{
    std::string platform;                     // "" = daemon default
    std::chrono::milliseconds pull_timeout{600'000};
    swap_settings swap;
    std::string self_id;                      // imagewatch's own container (self::detect()); never replaced
};

settings settings_from(const config::config& cfg);

// X-Registry-Auth value for pulling an image ("" = anonymous). Injected so credentials come
// from the live config and environment at each refresh; a coroutine because a docker credential
// helper may have to run.
// What select() found: the selected containers (candidates[i] describes selected[i]) and the order
// of their swaps.
struct swap_plan
{
    std::vector<selected_container> selected;
    std::vector<candidate> candidates;
    std::vector<planned_swap> steps;
};

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
    // The three steps of a refresh. pull: each distinct image once, runtimes that share an image
    // share its outcome; returns the runtimes whose image was pulled. select: the containers of the
    // pulled runtimes and the order of their swaps. execute: the swaps, in that order.
    awaitable<std::vector<const config::runtime*>>
    pull(const std::vector<config::runtime>& runtimes, const settings& s, refresh_result& res);
    awaitable<std::optional<std::string>> pull_image(const config::runtime& rt, const settings& s);  // error or nullopt
    awaitable<result<std::vector<docker::container_summary>>> list_settled(const std::vector<config::runtime>& runtimes);
    awaitable<swap_plan> select(
        const std::vector<const config::runtime*>& pulled, const std::vector<docker::container_summary>& listed,
        const settings& s, refresh_result& res
    );
    awaitable<void> execute(swap_plan p, const settings& s, refresh_result& res);
    awaitable<bool> swap_one(selected_container& c, bool forced, const std::string& n_of_m, const settings& s, refresh_result& res);

    docker::api& docker_;
    registry_auth_fn registry_auth_;
    async_mutex mutex_;
};

// Counts a finished refresh into imagewatch_refreshes_total{runtime,result} (ok / error).
void count(const std::vector<config::runtime>& runtimes, const outcome& out);

}  // namespace imagewatch::refresh
