#include "hooks/match.hpp"

#include "image/registry_host.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

namespace imagewatch::hooks {
std::vector<check_request> match_runtimes(const std::vector<config::runtime>& runtimes,
                                          const std::vector<pushed_tag>& tags)
{
    // Tags by repository and tag, each name's in envelope order: a lookup per runtime instead of a
    // pass over every tag (a notification may carry hundreds of events, a config hundreds of runtimes).
    const auto name = [](const pushed_tag* t) { return std::tie(t->repository, t->tag); };
    std::vector<const pushed_tag*> by_name;
    by_name.reserve(tags.size());
    for (const auto& t : tags)
        by_name.push_back(&t);
    std::ranges::stable_sort(by_name, std::less<>{}, name);

    std::vector<check_request> out;
    for (const auto& rt : runtimes)
    {
        if (!rt.image.digest.empty())
            continue;
        // (lower_bound and upper_bound: clang 14 cannot iterate the subrange equal_range returns)
        const auto key = std::tie(rt.image.repository, rt.image.tag);
        const auto first = std::ranges::lower_bound(by_name, key, std::less<>{}, name);
        // The last one whose host fits: envelopes list events in order.
        for (auto t = std::ranges::upper_bound(by_name, key, std::less<>{}, name); t != first;)
            if (const auto* hit = *--t; hit->host.empty() || same_registry(hit->host, rt.image.registry))
            {
                out.push_back(check_request{rt.name, hit->digest});
                break;
            }
    }
    return out;
}

}  // namespace imagewatch::hooks
