#include "hooks/match.hpp"

#include "image/registry_host.hpp"

namespace imagewatch::hooks {
std::vector<check_request> match_runtimes(const std::vector<config::runtime>& runtimes,
                                          const std::vector<pushed_tag>& tags)
{
    std::vector<check_request> out;
    for (const auto& rt : runtimes)
    {
        if (!rt.image.digest.empty())
            continue;
        const pushed_tag* hit = nullptr;
        for (const auto& t : tags)
            if (t.repository == rt.image.repository && t.tag == rt.image.tag &&
                (t.host.empty() || same_registry(t.host, rt.image.registry)))
                hit = &t;  // the last one: envelopes list events in order
        if (hit)
            out.push_back(check_request{rt.name, hit->digest});
    }
    return out;
}

}  // namespace imagewatch::hooks
