#pragma once
// The admin HTTP routes (SPEC §5) on plain request/response values: no sockets, no Beast, so the
// whole contract is unit-testable. admin/server.cpp moves bytes; this decides.
#include "core/awaitable.hpp"
#include "refresh/result.hpp"

#include <optional>
#include <string>
#include <vector>

namespace imagewatch::admin {

struct request
{
    std::string method;         // "GET", "POST", ...
    std::string target;         // path and query, e.g. "/admin/workspace-images/refresh?runtime=x"
    std::string authorization;  // raw header, "" when absent
};

struct response
{
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

// What the routes need from the running daemon. Implemented by the daemon, faked in tests.
class backend
{
public:
    virtual ~backend() = default;
    virtual std::optional<std::string> admin_token() = 0;  // nullopt/empty = not configured (fail closed)
    virtual bool metrics_public() = 0;
    virtual std::vector<std::string> runtime_names() = 0;  // config order
    // runtime: nullopt = all. Unknown names are rejected by the routes before this is called.
    virtual awaitable<refresh::outcome> refresh(std::optional<std::string> runtime, bool recreate) = 0;
    virtual std::string status_json() = 0;
    virtual bool ready() = 0;
    virtual std::string metrics_text() = 0;
};

awaitable<response> handle(request req, backend& b);

// Error bodies used by both routes and server: {"error":"..."}.
response json_error(int status, std::string_view message);

}  // namespace imagewatch::admin
