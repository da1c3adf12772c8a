#pragma once
// The admin HTTP routes (docs/http-api.md) on plain request/response values: no sockets, no Beast, so the
// whole contract is unit-testable. admin/server.cpp moves bytes; this decides.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "hooks/match.hpp"
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
    // For the webhooks; "" when absent. Defaulted: every other path needs none of them.
    std::string body = {};           // raw bytes: GitHub signs them exactly as sent
    std::string hub_signature = {};  // X-Hub-Signature-256
    std::string github_event = {};   // X-GitHub-Event
    std::string content_type = {};   // Content-Type
};

struct response
{
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

// The inbound webhooks (docs/http-api.md "Inbound webhooks").
enum class hook_kind
{
    github,    // POST /hooks/github, HMAC secret from hooks.github_secret_env
    registry,  // POST /hooks/registry, bearer token from hooks.registry_token_env
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
    // May ask Docker (how many containers each runtime selects now); bounded by its own deadline.
    virtual awaitable<std::string> status_json() = 0;
    virtual bool ready() = 0;
    // Why ready() is false, in words an operator can act on (the /readyz 503 body says it).
    virtual std::string not_ready_reason() { return "not ready"; }
    virtual std::string metrics_text() = 0;

    // Webhooks. Defaults describe a daemon without hooks, so a backend that has none needs no code here.
    // The hook's secret (GitHub HMAC key or registry bearer token); nullopt or "" = not configured.
    virtual std::optional<std::string> hook_secret(hook_kind) { return std::nullopt; }
    // The runtimes with their images, config order (webhook payloads are matched against them).
    virtual std::vector<config::runtime> runtimes() { return {}; }
    // Schedules an immediate digest check of each runtime (re-checking while the registry still
    // serves another digest than the one announced) and returns at once with the names actually
    // scheduled (a runtime whose watch task is not running yet is left out).
    virtual std::vector<std::string> schedule_checks(std::vector<hooks::check_request> /*checks*/) { return {}; }
};

// Routes one request (docs/http-api.md). The webhook paths answer 404, exactly as an unknown path, while
// their secret is not configured: a hook is off unless the operator opted in, and a scanner cannot
// tell whether this daemon has hooks at all. Configured: 405 for non-POST, 401 for a missing or
// bad signature/token (nothing scheduled), 400 for a malformed payload, else 202
// {"scheduled":[names]} (possibly empty: pings, pulls, other images).
awaitable<response> handle(request req, backend& b);

// Error bodies used by both routes and server: {"error":"..."}.
response json_error(int status, std::string_view message);

}  // namespace imagewatch::admin
