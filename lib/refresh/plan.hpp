#pragma once
// The order of swaps within one refresh. Pure.
//
// A container in `container:<parent>` network mode lives in its parent's network namespace: the
// parent must be replaced first, and a dependent whose parent was replaced must be recreated too
// (even if it is already on the new image), or it keeps a namespace that no longer exists
// (Watchtower #188, gluetun #641).
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct candidate
{
    std::string id;
    std::string name;
    std::string network_parent;  // X of NetworkMode "container:X" (an ID, an ID prefix or a name); else empty
    bool stale = false;          // not on the pulled image
};

struct planned_swap
{
    std::size_t index;  // into the candidates
    bool forced;        // not stale, but its network parent is replaced
};

// Stale candidates and the dependents of replaced ones, parents before their dependents, otherwise
// in the given order.
std::vector<planned_swap> plan_swaps(const std::vector<candidate>& candidates);

// Index of the candidate that `ref` (an ID, ID prefix of at least 12 hex digits, or a name) names, or npos.
std::size_t find_candidate(const std::vector<candidate>& candidates, const std::string& ref);

// "container:<anything>" -> the parent reference; other modes -> "".
std::string network_parent_of(const std::string& network_mode);

}  // namespace imagewatch::refresh
