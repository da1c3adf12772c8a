#include "watch/local.hpp"

#include "core/json_fields.hpp"
#include "refresh/select.hpp"

#include <boost/json/value.hpp>

namespace imagewatch::watch {

bool repo_digests_contain(const boost::json::array& repo_digests, const image_ref& image, std::string_view digest)
{
    for (const auto& v : repo_digests)
    {
        if (!v.is_string())
            continue;
        std::string_view entry = v.get_string();
        auto at = entry.rfind('@');
        if (at == std::string_view::npos || entry.substr(at + 1) != digest)
            continue;
        auto ref = parse_image_ref(entry.substr(0, at));
        if (ref && ref->name() == image.name())
            return true;
    }
    return false;
}

awaitable<result<local_state>> inspect_local(
    docker::api& docker, config::runtime rt, std::string digest, std::string effective
)
{
    auto listed = co_await docker.list_containers();
    if (!listed)
        co_return listed.error().wrap("container list");
    local_state st;
    for (const auto& c : *listed)
    {
        if (!refresh::name_and_labels_match(rt.containers, c.name, c.labels))
            continue;
        auto ins = co_await docker.inspect_container(c.id);
        if (!ins)
            continue;  // gone meanwhile
        std::string cfg_image;
        if (const auto* cfg = object_field(*ins, "Config"))
            cfg_image = string_field(*cfg, "Image");
        if (!refresh::selects(rt, c.name, cfg_image, c.labels))
            continue;
        ++st.containers;
        auto img = co_await docker.inspect_image(string_field(*ins, "Image"));
        bool current = false;
        if (img)
            if (auto* rd = img->if_contains("RepoDigests"); rd && rd->is_array())
                current = repo_digests_contain(rd->get_array(), rt.image, digest) ||
                          repo_digests_contain(rd->get_array(), rt.image, effective);
        st.stale = st.stale.value_or(false) || !current;
    }
    co_return st;
}

}  // namespace imagewatch::watch
