#pragma once
// Which registry host names mean the same registry. Pure.
#include <string_view>

namespace imagewatch {

// The names Docker Hub goes by: image references name it docker.io (index.docker.io is the
// Docker CLI's older name for it, also accepted in references), and its API is served at
// registry-1.docker.io.
inline constexpr std::string_view docker_hub = "docker.io";
inline constexpr std::string_view docker_hub_index = "index.docker.io";
inline constexpr std::string_view docker_hub_endpoint = "registry-1.docker.io";

bool is_docker_hub(std::string_view host);

// Whether two registry hosts ("host" or "host:port") name the same registry: host names ignore
// case (DNS does), ":443" is the port every registry without one is reached on, and Docker Hub's
// names are one registry. A different port is a different registry.
bool same_registry(std::string_view a, std::string_view b);

}  // namespace imagewatch
