#pragma once
// refresh::service: pull runtimes' images, then safely replace the selected containers that are
// not on the pulled image, as a progressive rollout (docs/configuration.md "rollout", docs/swap.md).
// Orchestration over docker::api; the decisions are in rollout.hpp, plan.hpp and select.hpp.
//
// Refreshes of different runtimes run concurrently. What must not overlap is serialized by what
// it touches: one lock per image (a runtime's pull and swaps; runtimes sharing an image, and so
// possibly containers, take turns) and one per container name (a network parent and its
// dependants in other runtimes). At most `pull_slots` pulls run at once. One runtime's refreshes
// never overlap: watch::refresh_queue runs one at a time per runtime.
#include "config/config.hpp"
#include "core/async_mutex.hpp"
#include "core/keyed_locks.hpp"
#include "docker/api.hpp"
#include "refresh/plan.hpp"
#include "refresh/result.hpp"
#include "refresh/rollout.hpp"
#include "refresh/selection.hpp"
#include "refresh/swap.hpp"
#include "refresh/swarm_update.hpp"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct settings
{
    std::string platform;  // "" = daemon default
    std::chrono::milliseconds pull_timeout{600'000};
    swap_settings swap;
    swarm_update_settings swarm;
    std::string self_id;  // imagewatch's own container (self::detect()); never replaced
};

settings settings_from(const config::config& cfg);

// Who asked and how.
struct request
{
    bool recreate = true;    // false: pull only
    bool automatic = false;  // watcher or webhook: rollout.window and min_age apply
    bool force = false;      // retry an image a halted rollout marked bad
    std::string digest;      // the registry digest the trigger saw ("" = unknown), for status
};

// X-Registry-Auth value for pulling an image ("" = anonymous). Injected so credentials come
// from the live config and environment at each refresh; a coroutine because a docker credential
// helper may have to run.
using registry_auth_fn = std::function<awaitable<std::string>(image_ref)>;

// What select() found: the selected containers (candidates[i] describes selected[i]) and the order
// of their swaps.
struct swap_plan
{
    std::vector<selected_container> selected;
    std::vector<candidate> candidates;
    std::vector<planned_swap> steps;
};

class service
{
public:
    static constexpr std::size_t pull_slots = 4;

    // docker must outlive the service.
    service(asio::any_io_executor ex, docker::api& docker, registry_auth_fn registry_auth);

    // Refreshes `runtimes` concurrently and merges their outcomes in the given order. Per-runtime
    // and per-container failures are reported in the result; only a failed container listing
    // makes the outcome fatal.
    awaitable<outcome> refresh(std::vector<config::runtime> runtimes, request rq, settings s);
    awaitable<outcome> refresh(std::vector<config::runtime> runtimes, bool recreate, settings s)
    {
        request rq;
        rq.recreate = recreate;
        return refresh(std::move(runtimes), std::move(rq), std::move(s));
    }

    bool busy() const { return active_ > 0; }

    // The last rollout of a runtime (nullopt before its first).
    std::optional<rollout_status> rollout_of(const std::string& runtime) const;

private:
    // One runtime: gates (mode, window), pull, then under the image's lock list, select and roll out.
    // pulled: images pulled earlier in the same refresh call (runtimes sharing an image pull it
    // once; the image lock orders them), image -> error or nullopt.
    using pull_memo = std::map<std::string, std::optional<std::string>>;
    awaitable<outcome> refresh_one(const config::runtime& rt, request rq, settings s, pull_memo& pulled);
    awaitable<std::optional<std::string>> pull_image(const config::runtime& rt, const settings& s);  // error or nullopt
    awaitable<result<std::vector<docker::container_summary>>> list_settled(const config::runtime& rt);
    awaitable<swap_plan> select(const config::runtime& rt, const std::string& image_id,
                                const std::vector<docker::container_summary>& listed, const settings& s,
                                refresh_result& res);
    // How a rollout ended: every planned swap ran, failures halted it (the image is blamed), or
    // Docker itself failed under a swap (unreachable, cancelled: the image is not blamed).
    enum class rollout_end
    {
        done,
        halted,
        interrupted
    };
    enum class swap_end
    {
        replaced,
        failed,
        docker_failed
    };
    // The swaps of a plan through a rollout_window: canaries first, then a sliding window.
    awaitable<rollout_end> execute(swap_plan& p, const config::runtime& rt, const settings& s, rollout_status& st,
                                   refresh_result& res);
    awaitable<swap_end> swap_one(selected_container& c, bool forced, const std::string& n_of_m, const settings& s,
                                 refresh_result& res);

    asio::any_io_executor ex_;
    docker::api& docker_;
    registry_auth_fn registry_auth_;
    async_semaphore pulls_;
    keyed_locks locks_;
    bad_images bad_;
    std::map<std::string, rollout_status> rollouts_;  // runtime -> its last rollout
    std::set<std::string> swapping_;                  // containers with a swap in flight
    std::size_t active_ = 0;
};

// Counts a finished refresh into imagewatch_refreshes_total{runtime,result} (ok / error).
void count(const std::vector<config::runtime>& runtimes, const outcome& out);
// Logs a finished refresh: "refresh done" or "refresh failed", with how many containers went which way.
void log_outcome(const outcome& out);

}  // namespace imagewatch::refresh
