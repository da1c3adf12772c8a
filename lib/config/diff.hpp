#pragma once
// What changed between two valid configs, so a live reload touches only what it must. Pure.
#include "config/config.hpp"

#include <string>
#include <vector>

namespace imagewatch::config {

struct change
{
    std::vector<std::string> added;            // runtime names only in the new config, in its order
    std::vector<std::string> removed;          // runtime names only in the old config, in its order
    std::vector<std::string> changed;          // in both, with a different image or resolved selector (new order)
    std::vector<std::string> rollout_changed;  // in both, same image and selector, other rollout settings
    bool reordered = false;                    // the runtimes common to both appear in a different order
    bool watch_changed = false;                // any watch.* (tasks re-arm with the new interval/jitter)
    bool admin_listen_changed = false;         // admin.listen names another address: the listener must re-bind
    bool admin_changed = false;                // any admin.* including listen (token source, metrics_public)
    bool docker_changed = false;               // docker.host or docker.platform
    bool docker_host_changed = false;          // docker.host names another socket: the client is built once, at start
    bool timeouts_changed = false;             // any timeouts.*
    bool registries_changed = false;           // registries or docker_config (credential and TLS sources)
    bool notify_changed = false;               // notify.*
    bool hooks_changed = false;                // hooks.*

    // Runtimes added, removed, changed (rollout settings included) or reordered: the watch tasks must follow.
    bool runtimes_changed() const;
    // True when anything at all differs.
    bool any() const;
};

// Compares runtimes by name; a runtime whose name stays but whose image or selector differs is
// "changed" (its watch task restarts). The top-level "containers" selector has no flag of its own:
// it shows through the runtimes whose resolved selector it changed.
change diff(const config& old_cfg, const config& new_cfg);

// The runtime part of diff alone (added, removed, changed, reordered), for a caller that holds
// the runtimes it applied last but not the whole config.
change diff_runtimes(const std::vector<runtime>& old_runtimes, const std::vector<runtime>& new_runtimes);

}  // namespace imagewatch::config
