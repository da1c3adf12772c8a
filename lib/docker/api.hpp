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
#include <cstdint>
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

// Where this engine stands in a Swarm (GET /info, its "Swarm" object).
struct swarm_info
{
    std::string local_node_state;    // "inactive", "pending", "active", "error", "locked"
    bool control_available = false;  // true on a manager
    std::string error;               // Swarm's own error text, if any
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
    virtual awaitable<result<pull_totals>> pull(image_ref ref, std::string platform, std::string registry_auth,
                                                std::chrono::milliseconds timeout, pull_observer on_progress) = 0;

    // POST /containers/create?name=..; returns the new container's ID.
    virtual awaitable<result<std::string>> create_container(std::string name, boost::json::object body) = 0;

    // POST /networks/{network}/connect {"Container": id, "EndpointConfig": endpoint}.
    virtual awaitable<result<void>> connect_network(std::string network, std::string id,
                                                    boost::json::object endpoint) = 0;

    virtual awaitable<result<void>> start_container(std::string id) = 0;  // 304 (already running) is success
    // POST /containers/{id}/stop?t=<seconds>; the daemon sends the container's own StopSignal.
    // 304 (already stopped) is success. The HTTP deadline is stop_timeout + the request timeout;
    // stop_timeout is clamped to 0..max_stop_timeout first.
    virtual awaitable<result<void>> stop_container(std::string id, std::chrono::seconds stop_timeout) = 0;
    virtual awaitable<result<void>> rename_container(std::string id, std::string new_name) = 0;
    // DELETE /containers/{id}?force=..; volumes are always kept (no v=1). errc::not_found if already gone.
    virtual awaitable<result<void>> remove_container(std::string id, bool force) = 0;

    // Swarm services. Only a manager answers the /services calls; the defaults fail so that an
    // engine double that knows nothing of Swarm needs no change.
    // GET /info: the Swarm part.
    virtual awaitable<result<swarm_info>> swarm_state() { co_return unsupported("GET /info"); }
    // GET /services (filters: a JSON filters object, "" = all): the raw service objects.
    virtual awaitable<result<std::vector<boost::json::object>>> list_services(std::string /*filters*/)
    {
        co_return unsupported("GET /services");
    }
    // GET /services/{id}: the raw service object (ID, Version.Index, Spec, PreviousSpec, UpdateStatus).
    virtual awaitable<result<boost::json::object>> inspect_service(std::string /*id*/)
    {
        co_return unsupported("GET /services/{id}");
    }
    // POST /services/{id}/update?version=N with the whole new spec and X-Registry-Auth (when
    // non-empty) so that every node can pull. A stale version is Swarm's "update out of sequence".
    virtual awaitable<result<void>> update_service(std::string /*id*/, std::uint64_t /*version*/,
                                                   boost::json::object /*spec*/, std::string /*registry_auth*/
    )
    {
        co_return unsupported("POST /services/{id}/update");
    }

private:
    static error unsupported(std::string_view what)
    {
        return make_error(std::string(what) + ": not supported by this engine client");
    }
};

}  // namespace imagewatch::docker
