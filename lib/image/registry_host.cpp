#include "image/registry_host.hpp"

#include "core/text.hpp"

#include <string>

namespace imagewatch {
namespace {

std::string canonical_host(std::string_view h)
{
    std::string s = ascii_lower(h);
    if (s.ends_with(":443"))
        s.resize(s.size() - 4);
    if (is_docker_hub(s))
        s = docker_hub;
    return s;
}

}  // namespace

bool is_docker_hub(std::string_view host)
{
    return host == docker_hub || host == docker_hub_index || host == docker_hub_endpoint;
}

bool same_registry(std::string_view a, std::string_view b) { return canonical_host(a) == canonical_host(b); }

}  // namespace imagewatch
