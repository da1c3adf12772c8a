#pragma once
// docker::client: docker::api over the Engine HTTP API on a Unix socket (or tcp://host:port without
// TLS). I/O. Beast stays in client.cpp.
#include "docker/api.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace imagewatch::docker {

struct client_settings
{
    std::string host = "unix:///var/run/docker.sock";  // DOCKER_HOST syntax
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
};

// Fails (errc::invalid_argument) only when host is not unix:// or tcp://.
result<std::unique_ptr<api>> make_client(asio::any_io_executor ex, client_settings settings);

}  // namespace imagewatch::docker
