#pragma once
// build_recreate_spec: the create request for a container's replacement (docs/swap.md, step 1). Pure.
//
// Three-way: the container's inspect, its old image's inspect and the new image's inspect. Config
// values the container only inherited from the old image are left out so the new image's defaults
// apply; everything the user set (and all of HostConfig) is carried over.
#include "core/error.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imagewatch::docker {

// Label put on every replacement: the ID of the container it replaced (crash reconciliation uses it).
inline constexpr std::string_view replaced_from_label = "imagewatch.replaced-from";

struct create_spec
{
    // Body of POST /containers/create: Config fields + HostConfig + NetworkingConfig (primary network only).
    boost::json::object body;
    // Further networks, connected after create with POST /networks/{name}/connect (API < 1.44 can
    // create with one network only). Endpoint configs carry aliases (minus the short ID), IPAMConfig
    // and links.
    std::vector<std::pair<std::string, boost::json::object>> extra_networks;
    // Start the replacement: the old container was running, paused or restarting.
    bool start = true;
};

// Builds the replacement's create request. Fails with errc::not_reproducible (and a message naming the
// container and the reason) for containers that cannot be swapped faithfully: --rm (AutoRemove),
// swarm tasks, dead or being-removed containers; with errc::bad_response when an inspect object lacks
// Config/HostConfig.
//
// Rules: Env entries, Labels (key and value), ExposedPorts and Volumes keys equal to the old image's are
// dropped; Cmd/Entrypoint, WorkingDir, User, Healthcheck, StopSignal are dropped when equal to the old
// image's (Cmd is kept whenever Entrypoint was overridden, as Docker then ignores the image's Cmd).
// Image = new_image_ref; Hostname is dropped when engine-generated (short ID, or host/container:
// network modes); label imagewatch.replaced-from = old_container_id. HostConfig is copied, with links
// rewritten to create syntax and anonymous volumes mounted by name so their data survives.
result<create_spec> build_recreate_spec(const boost::json::object& container_inspect,
                                        const boost::json::object& old_image_inspect,
                                        const boost::json::object& new_image_inspect, std::string_view new_image_ref,
                                        std::string_view old_container_id);

}  // namespace imagewatch::docker
