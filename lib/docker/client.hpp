#pragma once
// docker::client: docker::api over the Engine HTTP API on a Unix socket (or tcp://host:port without
// TLS). I/O. Beast stays in client.cpp.
#include "core/socket_address.hpp"
#include "docker/api.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace imagewatch::docker {

struct client_settings
{
    socket_address host;  // the Engine's Unix socket or plain-HTTP TCP address, as the config parsed it
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);   // errc::unreachable when exceeded
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);  // each write/read step
    // A pull fails when the progress stream is silent this long (re-armed per chunk; the whole pull
    // is bounded by the timeout passed to pull()).
    std::chrono::milliseconds pull_stall_timeout = std::chrono::minutes(2);
    // How often a running pull reports its progress (nothing for pulls shorter than this).
    std::chrono::milliseconds pull_progress_every = std::chrono::seconds(5);
};

// One connection per request (no keep-alive); the API version is negotiated on the first call and
// kept. Calls are made from the executor's single thread; the client must outlive them.
// Fails (errc::invalid_argument) only when host names neither a socket path nor a TCP host.
result<std::unique_ptr<api>> make_client(asio::any_io_executor ex, client_settings settings);

}  // namespace imagewatch::docker
