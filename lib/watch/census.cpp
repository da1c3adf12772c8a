#include "watch/census.hpp"

#include "refresh/select.hpp"
#include "refresh/selection.hpp"

#include <algorithm>
#include <set>

namespace imagewatch::watch {

awaitable<result<std::map<std::string, int>>> container_census::count(docker::api& docker,
                                                                      std::vector<config::runtime> runtimes)
{
    auto listed = co_await docker.list_containers();
    if (!listed)
        co_return listed.error().wrap("container list");
    std::map<std::string, int> counts;
    for (const auto& rt : runtimes)
        counts[rt.name] = 0;
    std::set<std::string> present;
    for (const auto& c : *listed)
    {
        present.insert(c.id);
        const bool candidate = std::any_of(runtimes.begin(), runtimes.end(), [&](const config::runtime& rt) {
            return refresh::name_and_labels_match(rt.containers, c.name, c.labels);
        });
        if (!candidate)
            continue;
        // The list shows Config.Image unless the image it names has moved on, then the image ID.
        std::string image = c.image;
        if (image.starts_with("sha256:"))
        {
            if (auto known = config_image_.find(c.id); known != config_image_.end())
                image = known->second;
            else
            {
                auto ins = co_await docker.inspect_container(c.id);
                if (!ins)
                    continue;  // removed since the list
                image = refresh::config_image_of(*ins);
                config_image_[c.id] = image;
            }
        }
        for (const auto& rt : runtimes)
            if (refresh::selects(rt, c.name, image, c.labels))
                ++counts[rt.name];
    }
    std::erase_if(config_image_, [&](const auto& kv) { return !present.contains(kv.first); });
    co_return counts;
}

}  // namespace imagewatch::watch
