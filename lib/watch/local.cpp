#include "watch/local.hpp"

#include "core/json_fields.hpp"
#include "refresh/selection.hpp"

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

awaitable<result<local_state>> inspect_local(docker::api& docker, config::runtime rt, std::string digest,
                                             std::string effective)
{
    auto listed = co_await docker.list_containers();
    if (!listed)
        co_return listed.error().wrap("container list");
    local_state st;
    // Inspect failures (gone meanwhile, or not answered) are not counted. A named vector: GCC 12
    // miscompiles a braced initializer inside a co_await expression.
    std::vector<const config::runtime*> one{&rt};
    auto sel = co_await refresh::select_containers(docker, std::move(one), *listed);
    for (const auto& c : sel.containers)
    {
        ++st.containers;
        auto img = co_await docker.inspect_image(string_field(c.inspect, "Image"));
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
