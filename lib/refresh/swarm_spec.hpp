#pragma once
// Swarm services as imagewatch sees them, and the decisions of a service update. Pure.
//
// A service is updated by writing its whole spec back with one change: the task image pinned as
// repo:tag@sha256:…. Nodes pull exactly that digest (Swarm does not resolve tags itself), and
// Swarm's own UpdateConfig (parallelism, delay, monitor, failure action) does the rollout; its
// PreviousSpec is what a rollback returns to, so imagewatch keeps no record of its own.
#include "config/config.hpp"
#include "core/error.hpp"
#include "image/image_ref.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace imagewatch::refresh {

// The service's UpdateStatus (all empty when Swarm has never updated it).
struct update_status
{
    std::string state;       // updating, paused, completed, rollback_started, rollback_paused, rollback_completed
    std::string message;     // Swarm's own words, e.g. "update paused due to failure or early termination of task …"
    std::string started_at;  // RFC 3339 as Swarm wrote it; a new update has a new one
};

struct service_view
{
    std::string id;
    std::string name;                           // Spec.Name
    std::uint64_t version = 0;                  // Version.Index, for the optimistic update
    std::string image;                          // Spec.TaskTemplate.ContainerSpec.Image, as written
    std::map<std::string, std::string> labels;  // Spec.Labels (service labels, not the tasks')
    update_status status;
};

// Reads what the decisions need from a GET /services or /services/{id} object; fails on an
// object without ID, Version.Index or a container image (not a container service).
result<service_view> read_service(const boost::json::object& svc);

update_status read_update_status(const boost::json::object& svc);

// The runtime selects the service: its services selector matches the name and labels (the
// container rules: prefix, label, imagewatch.enable=false opt-out), and the service runs the
// runtime's image tag, whatever digest it is pinned to now.
bool selects_service(const config::runtime& rt, const service_view& s);

// The registry digest of `image` in an image inspect's RepoDigests ("" when there is none: an
// image built locally and never pushed or pulled).
std::string repo_digest(const boost::json::object& image_inspect, const image_ref& image);

// The service's own image text with its digest replaced: "reg/app:v1@sha256:old" and
// "reg/app:v1" both become "reg/app:v1@<digest>". The spelling the operator chose stays.
std::string pinned_image(std::string_view service_image, std::string_view digest);

// The service already runs exactly this digest: nothing to update.
bool on_digest(const service_view& s, std::string_view digest);

// The spec to POST: a copy of Spec with TaskTemplate.ContainerSpec.Image = pinned and nothing
// else changed (UpdateConfig, RollbackConfig, networks, mounts, labels... stay as Swarm has them).
result<boost::json::object> updated_spec(const boost::json::object& svc, std::string_view pinned);

enum class update_end
{
    in_progress,  // not started yet (UpdateStatus still the one from before our update), or rolling
    updated,      // completed
    rolled_back,  // rollback_completed: Swarm returned to PreviousSpec
    paused,       // paused or rollback_paused: Swarm stopped and waits for the operator
};

// Where our update stands. `started_before` is UpdateStatus.StartedAt read before the POST: an
// UpdateStatus that still carries it is an earlier update's and says nothing about ours.
update_end classify(const update_status& now, std::string_view started_before);

// "updated", "rolled_back", "paused", "in_progress".
std::string_view to_string(update_end e);

// Swarm refused the update because the service changed since it was read (another writer).
bool is_out_of_sequence(const error& e);

}  // namespace imagewatch::refresh
