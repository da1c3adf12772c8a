#pragma once
// The configuration model (docs/configuration.md) with the defaults written at the members. Pure.
#include "config/window.hpp"
#include "core/duration.hpp"
#include "core/socket_address.hpp"
#include "image/image_ref.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::config {

using namespace std::chrono_literals;

// Which containers belong to a runtime (docs/configuration.md, container selection).
struct selector
{
    std::string name_prefix = "ws-";  // empty = any name
    std::string label;                // "key=value" or "key"; empty = no label requirement
    friend bool operator==(const selector&, const selector&) = default;
};

enum class rollout_mode
{
    update,  // pull and replace
    notify,  // check and notify only: never pull or replace
};

// How a new digest is rolled out (docs/configuration.md "rollout"). The top level holds the
// defaults; a runtime starts from them and overrides the keys it sets.
struct rollout_settings
{
    int parallelism = 4;                                 // swaps of one runtime in flight at once
    int canary = 1;                                      // replaced and verified first; a failure halts the rollout
    double max_failures = 0.2;                           // after the canary: a batch failure ratio above this halts
    std::optional<::imagewatch::config::window> window;  // automatic rollouts start only inside it
    duration min_age = 0s;                               // a new image applies once its `created` is this old
    rollout_mode mode = rollout_mode::update;
    friend bool operator==(const rollout_settings&, const rollout_settings&) = default;
};

struct runtime
{
    std::string name;
    image_ref image;
    selector containers;       // the top-level "containers" unless the runtime sets its own
    rollout_settings rollout;  // the top-level defaults with the runtime's own keys applied
    // Swarm services running the image, updated through Swarm's rolling update; nullopt = none.
    // The top-level "services" unless the runtime sets its own.
    std::optional<selector> services = std::nullopt;  // (initialised: runtimes are brace-built without it)
    friend bool operator==(const runtime&, const runtime&) = default;
};

struct registry_settings
{
    std::string username_env;
    std::string password_env;
    std::string ca_file;
    bool insecure_http = false;
    friend bool operator==(const registry_settings&, const registry_settings&) = default;
};

struct watch_settings
{
    bool enabled = false;
    duration interval = 5min;
    duration jitter = 10s;
    bool apply_on_start = true;
    friend bool operator==(const watch_settings&, const watch_settings&) = default;
};

struct admin_settings
{
    socket_address listen{"127.0.0.1", 8080, "", "127.0.0.1:8080"};  // what parse_listen makes of the text
    std::string token_env = "ADMIN_TOKEN";
    std::string token_file;  // wins over token_env when set
    bool metrics_public = true;
    friend bool operator==(const admin_settings&, const admin_settings&) = default;
};

struct docker_settings
{
    // What parse_docker_host makes of the text.
    socket_address host{"", 0, "/var/run/docker.sock", "unix:///var/run/docker.sock"};
    std::string platform;  // "" = daemon default
    friend bool operator==(const docker_settings&, const docker_settings&) = default;
};

struct timeouts
{
    duration connect = 5s;
    duration request = 30s;
    duration pull = 10min;
    duration stop_default = 10s;
    duration health = 60s;
    duration shutdown = 60s;
    duration service_update = 10min;  // one Swarm service's rolling update, to its end state
    friend bool operator==(const timeouts&, const timeouts&) = default;
};

struct notify_settings
{
    std::string webhook_url;
    friend bool operator==(const notify_settings&, const notify_settings&) = default;
};

struct hooks_settings
{
    std::string github_secret_env;
    std::string registry_token_env;
    friend bool operator==(const hooks_settings&, const hooks_settings&) = default;
};

struct config
{
    watch_settings watch;
    admin_settings admin;
    docker_settings docker;
    ::imagewatch::config::timeouts timeouts;  // qualified: an unqualified type name would change meaning in this class
    std::map<std::string, registry_settings, std::less<>> registries;  // key: registry host[:port]
    std::string docker_config;  // path of a docker config.json ("" = $DOCKER_CONFIG or ~/.docker)
    selector containers;
    rollout_settings rollout;          // defaults of every runtime
    std::optional<selector> services;  // default for runtimes; nullopt = no services
    std::vector<runtime> runtimes;
    notify_settings notify;
    hooks_settings hooks;

    // The runtime named `name` (nullopt: every runtime), config order; empty when none has that name.
    std::vector<runtime> select_runtimes(const std::optional<std::string>& name) const;
    friend bool operator==(const config&, const config&) = default;
};

}  // namespace imagewatch::config
