#pragma once
// The admin HTTP listener (SPEC §5): TCP "HOST:PORT" or "unix:/path". I/O; Beast stays in server.cpp.
//
// Limits enforced before any route runs: headers must arrive within header_timeout (slowloris),
// a body over body_limit (declared or sent) gets 413 before auth is even looked at.
#include "admin/routes.hpp"
#include "core/awaitable.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace imagewatch::admin {

struct server_settings
{
    std::size_t body_limit = 64 * 1024;
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
    std::size_t max_connections = 1024;
};

class server
{
public:
    virtual ~server() = default;
    // Accepts until close(); each connection runs its own session coroutine.
    virtual awaitable<void> run() = 0;
    // Stops accepting (the listening socket closes; a unix socket file is removed).
    virtual void close() = 0;
    // "127.0.0.1:8080", "[::1]:8080" or "unix:/path" as actually bound (port 0 resolved).
    virtual std::string local_address() const = 0;
};

// Binds now so a bad address or a port in use is reported at start-up / reload, not later.
// backend must outlive the server.
result<std::unique_ptr<server>> bind_server(
    asio::any_io_executor ex, const std::string& listen, backend& b, server_settings s = {}
);

}  // namespace imagewatch::admin
