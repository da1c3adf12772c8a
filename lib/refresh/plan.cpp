#include "refresh/plan.hpp"

#include <functional>

namespace imagewatch::refresh {

std::string network_parent_of(const std::string& network_mode)
{
    constexpr std::string_view prefix = "container:";
    if (network_mode.size() <= prefix.size() || network_mode.compare(0, prefix.size(), prefix) != 0)
        return {};
    return network_mode.substr(prefix.size());
}

std::size_t find_candidate(const std::vector<candidate>& candidates, const std::string& ref)
{
    if (ref.empty())
        return std::string::npos;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        if (candidates[i].name == ref || candidates[i].id == ref ||
            (ref.size() >= 12 && candidates[i].id.compare(0, ref.size(), ref) == 0))
            return i;
    return std::string::npos;
}

std::vector<planned_swap> plan_swaps(const std::vector<candidate>& candidates)
{
    const std::size_t n = candidates.size();
    std::vector<std::size_t> parent(n, std::string::npos);
    for (std::size_t i = 0; i < n; ++i)
        if (auto p = find_candidate(candidates, candidates[i].network_parent); p != i)
            parent[i] = p;

    // Replaced: the stale ones, then (transitively) every dependent of a replaced one.
    std::vector<bool> replaced(n), forced(n);
    for (std::size_t i = 0; i < n; ++i)
        replaced[i] = candidates[i].stale;
    for (bool changed = true; changed;)
    {
        changed = false;
        for (std::size_t i = 0; i < n; ++i)
            if (!replaced[i] && parent[i] != std::string::npos && replaced[parent[i]])
                replaced[i] = forced[i] = changed = true;
    }

    // Parents first: a depth-first walk up the parent chain (Docker forbids cycles; the visiting
    // mark guards against a malformed one anyway).
    std::vector<planned_swap> out;
    std::vector<int> mark(n, 0);  // 0 new, 1 visiting, 2 done
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
        if (mark[i] != 0)
            return;
        mark[i] = 1;
        if (parent[i] != std::string::npos && replaced[parent[i]])
            visit(parent[i]);
        mark[i] = 2;
        out.push_back({i, forced[i]});
    };
    for (std::size_t i = 0; i < n; ++i)
        if (replaced[i])
            visit(i);
    return out;
}

}  // namespace imagewatch::refresh
