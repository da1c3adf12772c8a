#pragma once
// Which listed containers a refresh would act on: the one selection rule (name, labels, then the
// configured image after inspect) applied to a container list. Orchestration over docker::api;
// the rule itself is the pure refresh/select.hpp.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "docker/api.hpp"
#include "refresh/result.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace imagewatch::refresh {

struct selected_container
{
    const config::runtime* owner;  // the first of the runtimes (in the given order) that selects it
    docker::container_summary listed;
    boost::json::object inspect;  // GET /containers/{id}/json
    std::string config_image;     // Config.Image: the reference the container was created with
};

struct selection
{
    std::vector<selected_container> containers;  // in list order
    std::vector<failure> errors;                 // inspect failures other than "gone meanwhile"
};

// Inspects every listed container that one of `runtimes` may select by name and labels, and keeps
// those whose Config.Image is that runtime's image. A container that vanished between list and
// inspect is left out silently: there is nothing of ours to act on. `runtimes` must outlive the
// result (owner points into it).
awaitable<selection> select_containers(docker::api& docker, std::vector<const config::runtime*> runtimes,
                                       const std::vector<docker::container_summary>& listed);

// Config.Image of a container inspect object ("" when absent).
std::string config_image_of(const boost::json::object& inspect);

}  // namespace imagewatch::refresh
