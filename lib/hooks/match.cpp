#include "hooks/match.hpp"

#include "core/text.hpp"

namespace imagewatch::hooks {
namespace {

std::string canonical_host(std::string_view h)
{
    std::string s = ascii_lower(h);
    if (s.ends_with(":443"))
        s.resize(s.size() - 4);
    if (s == "index.docker.io" || s == "registry-1.docker.io")
        s = "docker.io";
    return s;
}

}  // namespace

bool same_registry(std::string_view a, std::string_view b) { return canonical_host(a) == canonical_host(b); }

std::vector<check_request> match_runtimes(const std::vector<config::runtime>& runtimes, const std::vector<pushed_tag>& tags)
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
