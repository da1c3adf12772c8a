#pragma once
// Which runtimes a pushed tag concerns. Pure.
#include "config/config.hpp"
#include "hooks/events.hpp"

#include <string>
#include <vector>

namespace imagewatch::hooks {

// A runtime to check now, and the digest its tag should have moved to ("" = not known).
struct check_request
{
    std::string runtime;
    std::string digest = {};
    friend bool operator==(const check_request&, const check_request&) = default;
};

// The runtimes (config order, each once) whose image is one of the pushed tags: same registry,
// repository and tag (image/registry_host.hpp says which hosts are the same); the digest is that of the last matching tag. A tag with an unknown host
// ("") matches on repository and tag alone: the worst case is one extra digest check.
// Digest-pinned runtimes never match.
std::vector<check_request> match_runtimes(const std::vector<config::runtime>& runtimes,
                                          const std::vector<pushed_tag>& tags);

}  // namespace imagewatch::hooks
