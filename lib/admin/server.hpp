#pragma once
// The admin HTTP listener (docs/http-api.md): TCP "HOST:PORT" or "unix:/path". I/O; Beast stays in server.cpp.
//
// Limits enforced before any route runs: the whole request (headers and body) must arrive within
// request_timeout (slowloris, slow bodies), a body over body_limit (declared or sent) gets 413
// before auth is even looked at. At max_connections a new client closes the oldest connection
// that is waiting on its peer (reading a request or writing an answer); only connections whose
// request is being handled (a refresh in flight) are never closed to make room.
#include "admin/routes.hpp"
#include "core/awaitable.hpp"
#include "core/socket_address.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace imagewatch::admin {

struct server_settings
{
    std::size_t body_limit = 64 * 1024;
    std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
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
    // Ends every session: idle ones now, one in a handler (a refresh) once its answer is written
    // with "Connection: close". With close(), nothing of the server is left running.
    virtual void end_sessions() = 0;
    // run() has returned and no session is left: the server may be destroyed.
    virtual bool finished() const = 0;
    // "127.0.0.1:8080", "[::1]:8080" or "unix:/path" as actually bound (port 0 resolved).
    virtual std::string local_address() const = 0;
};

// Before binding "unix:PATH": a socket file that refuses connections (left by a process that
// died) is removed; nothing else at PATH is ever deleted. A regular file, a directory, a symbolic
// link or a socket another process listens on is errc::invalid_argument with a message naming
// what is there: the config points at something that is not ours to replace.
result<void> clear_stale_socket(const std::string& path);

// Binds listen (admin.listen as the config parsed it; TCP port 0 takes any free port) now, so a port
// in use is reported at start-up / reload, not later. errc::invalid_argument: the address itself
// is wrong (a host that does not resolve, or PATH is occupied, see clear_stale_socket);
// errc::failed: binding failed (port in use, permission). backend must outlive the server.
result<std::unique_ptr<server>> bind_server(asio::any_io_executor ex, const socket_address& listen, backend& b,
                                            server_settings s = {});

}  // namespace imagewatch::admin
