#pragma once
// GET /admin/status: the JSON body as a pure function of a snapshot the daemon takes. Pure.
// New per-runtime facts go into status_row and one line of render_status, nothing else.
#include "config/config.hpp"
#include "refresh/result.hpp"
#include "watch/watcher.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::daemon {

struct status_snapshot
{
    std::string version;
    std::string config_path;
    std::chrono::system_clock::time_point loaded_at;
    std::string config_hash;
    std::optional<std::string> last_reload_error;  // null in the JSON when the last reload worked
    bool watch_enabled = false;
    std::vector<watch::runtime_status> runtimes;  // config order, containers already counted
    std::size_t watch_tasks = 0;
    // runtime -> the Swarm services of its last refresh that looked at any (absent: none yet)
    std::map<std::string, std::vector<refresh::service_report>> services;
};

// The runtime rows: the watcher's, or every configured runtime "pending" before the watcher first
// ran (Docker not reachable yet); containers from `counted` (the last successful container list)
// where it names the runtime, else the watcher's figure.
std::vector<watch::runtime_status> status_rows(std::vector<watch::runtime_status> watched,
                                               const std::vector<config::runtime>& configured,
                                               const std::map<std::string, int>& counted);

std::string render_status(const status_snapshot& s);

}  // namespace imagewatch::daemon
