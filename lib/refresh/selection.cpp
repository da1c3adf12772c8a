#include "refresh/selection.hpp"

#include "core/json_fields.hpp"
#include "refresh/select.hpp"

namespace imagewatch::refresh {

std::string config_image_of(const boost::json::object& inspect)
{
    if (const auto* c = object_field(inspect, "Config"))
        return string_field(*c, "Image");
    return {};
}

awaitable<selection> select_containers(docker::api& docker, std::vector<const config::runtime*> runtimes,
                                       const std::vector<docker::container_summary>& listed)
{
    selection out;
    for (const auto& c : listed)
    {
        const config::runtime* first = nullptr;
        for (const auto* rt : runtimes)
            if (!first && name_and_labels_match(rt->containers, c.name, c.labels))
                first = rt;
        if (!first)
            continue;
        auto inspect = co_await docker.inspect_container(c.id);
        if (!inspect)
        {
            if (inspect.error().code != errc::not_found)
                out.errors.push_back({first->name, c.name, "inspect: " + inspect.error().message});
            continue;
        }
        std::string cfg_image = config_image_of(*inspect);
        const config::runtime* owner = nullptr;
        for (const auto* rt : runtimes)
            if (!owner && selects(*rt, c.name, cfg_image, c.labels))
                owner = rt;
        if (owner)
            out.containers.push_back({owner, c, std::move(*inspect), std::move(cfg_image)});
    }
    co_return out;
}

}  // namespace imagewatch::refresh
