#pragma once
// registry::client: the manifest digest check (SPEC §4) against an OCI / Docker registry. I/O.
// Beast and OpenSSL stay in client.cpp.
#include "core/awaitable.hpp"
#include "image/image_ref.hpp"
#include "registry/credentials.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::registry {

// Per registry host settings, usually built from config.registries and resolve_credentials().
struct host_options
{
    std::string ca_file;                    // PEM file trusted in addition to the system CAs
    bool insecure_http = false;             // plain http:// instead of https://
    std::optional<credentials> creds;       // nullopt = anonymous
};

struct client_settings
{
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);   // resolve + connect + TLS handshake
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);  // write + read of one request
    // Called with a registry host as written in image references ("ghcr.io", "registry.test:5443")
    // and with token realm hosts ("registry.test:5001"), once per check. Empty = defaults.
    std::function<host_options(std::string_view host)> host_options_for;
    // Optional observer of every HTTP exchange (for metrics): host, method, status (0 = no answer).
    std::function<void(std::string_view host, std::string_view method, unsigned status)> on_request;
};

class client
{
public:
    virtual ~client();

    // HEAD /v2/<repository>/manifests/<digest or tag> with the manifest Accept types, following a
    // Bearer (token realm) or Basic challenge, and returns Docker-Content-Digest ("sha256:…").
    // Errors: errc::unauthorized (401/403, credentials refused or missing), errc::not_found (404),
    // errc::rate_limited (429; 503 with Retry-After), errc::unreachable (resolve, connect or TLS,
    // e.g. "certificate verify failed"), errc::timed_out, errc::bad_response (no or malformed
    // digest, bad challenge or token), errc::failed (other statuses). Never throws for these.
    // Each request is bounded by connect_timeout + request_timeout; cancellation is honoured.
    virtual awaitable<result<std::string>> head_digest(image_ref ref) = 0;

    // Retry-After, the way this interface exposes it: after a 429/503 carrying Retry-After, the
    // message says "retry after <N>s" and the client remembers the deadline for that registry host.
    // Until it passes, head_digest for that host fails at once with errc::rate_limited (no request
    // is sent) and this returns the time left (rounded up); otherwise nullopt.
    virtual std::optional<std::chrono::seconds> retry_after(std::string_view registry_host) const = 0;
};

// The client keeps its token cache and must outlive every head_digest it starts.
std::unique_ptr<client> make_client(asio::any_io_executor ex, client_settings settings);

}  // namespace imagewatch::registry
