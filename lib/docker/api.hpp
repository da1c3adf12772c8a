#pragma once
// docker::api: the Docker Engine operations imagewatch needs. Interface; docker::client (client.hpp)
// implements it over the Engine's HTTP API, tests use in-memory fakes.
//
// Every method returns an error value (never throws) for expected failures: daemon unreachable
// (errc::unreachable), 404 (errc::not_found), other non-2xx (errc::failed with Docker's "message").
#include "core/awaitable.hpp"
#include "docker/pull_totals.hpp"
#include "image/image_ref.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::docker {

struct container_summary
{
    std::string id;
    std::string name;   // without the leading '/'
    std::string image;  // as listed (may already be an image ID once the tag moved)
    std::string state;  // "running", "exited", "created", ...
    std::map<std::string, std::string> labels;
};

struct version_info
{
    std::string api_version;  // negotiated, e.g. "1.41"
    std::string engine_version;
    std::string os;    // "linux"
    std::string arch;  // "amd64"
};

// The longest stop timeout ever used. A container may carry any int64 StopTimeout (docker create
// --stop-timeout accepts one), and turning that into milliseconds or a deadline would overflow.
inline constexpr std::chrono::seconds max_stop_timeout = std::chrono::hours(24);

class api
{
public:
    virtual ~api() = default;

    // Live config edits: deadlines for the calls that start after this (docs/configuration.md "Reload").
    virtual void set_timeouts(std::chrono::milliseconds /*connect*/, std::chrono::milliseconds /*request*/) {}

    // GET /_ping then /version; picks min(daemon's ApiVersion, our max) and fails if the daemon's
    // version is below 1.41. Later calls use the negotiated prefix (ping is done lazily if needed).
    virtual awaitable<result<version_info>> ping() = 0;

    // GET /containers/json?all=1 (running and stopped).
    virtual awaitable<result<std::vector<container_summary>>> list_containers() = 0;

    // GET /containers/{id}/json: the raw inspect object (used whole for the recreate spec).
    virtual awaitable<result<boost::json::object>> inspect_container(std::string id) = 0;

    // GET /images/{name}/json: the raw image inspect object (Id, RepoDigests, Config...).
    virtual awaitable<result<boost::json::object>> inspect_image(std::string name_or_id) = 0;

    // POST /images/create?fromImage=..&tag=..[&platform=..] with X-Registry-Auth when non-empty.
    // Reads the progress stream to the end; an "error"/"errorDetail" object in it is a failure
    // whose message is Docker's text, classified: not_found (manifest unknown), unauthorized,
    // rate_limited (toomanyrequests), else failed. Bounded by `timeout` overall (errc::timed_out)
    // and per-chunk stall detection (client_settings::pull_stall_timeout). A long pull calls
    // on_progress at a steady pace (client_settings::pull_progress_every); the result holds the
    // final totals (layers, downloaded bytes).
    virtual awaitable<result<pull_totals>> pull(
        image_ref ref, std::string platform, std::string registry_auth, std::chrono::milliseconds timeout,
        pull_observer on_progress
    ) = 0;

    // POST /containers/create?name=..; returns the new container's ID.
    virtual awaitable<result<std::string>> create_container(std::string name, boost::json::object body) = 0;

    // POST /networks/{network}/connect {"Container": id, "EndpointConfig": endpoint}.
    virtual awaitable<result<void>>
    connect_network(std::string network, std::string id, boost::json::object endpoint) = 0;

    virtual awaitable<result<void>> start_container(std::string id) = 0;  // 304 (already running) is success
    // POST /containers/{id}/stop?t=<seconds>; the daemon sends the container's own StopSignal.
    // 304 (already stopped) is success. The HTTP deadline is stop_timeout + the request timeout;
    // stop_timeout is clamped to 0..max_stop_timeout first.
    virtual awaitable<result<void>> stop_container(std::string id, std::chrono::seconds stop_timeout) = 0;
    virtual awaitable<result<void>> rename_container(std::string id, std::string new_name) = 0;
    // DELETE /containers/{id}?force=..; volumes are always kept (no v=1). errc::not_found if already gone.
    virtual awaitable<result<void>> remove_container(std::string id, bool force) = 0;
};

}  // namespace imagewatch::docker
