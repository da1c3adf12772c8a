#include "docker/unreachable.hpp"

#include <cerrno>

namespace imagewatch::docker {

std::string unreachable_message(std::string_view address, int err, std::string_view what)
{
    const bool unix_socket = address.starts_with("unix://");
    std::string m = "cannot reach the Docker daemon at " + std::string(address) + ": ";
    if (unix_socket && err == ENOENT)
        m += "no such socket; start dockerd, or set docker.host or DOCKER_HOST to the Engine's socket";
    else if (unix_socket && (err == EACCES || err == EPERM))
        m += "permission denied; run imagewatch as root or as a member of the socket's group (usually "
             "docker: usermod -aG docker USER), or set docker.host or DOCKER_HOST";
    else if (err == ECONNREFUSED)
        m += "connection refused; start dockerd, or set docker.host or DOCKER_HOST to where it listens";
    else
        m += std::string(what) + " (is dockerd running? is DOCKER_HOST right?)";
    return m;
}

}  // namespace imagewatch::docker
