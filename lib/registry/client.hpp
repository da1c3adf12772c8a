#pragma once
// registry::client: the manifest digest check (docs/watching.md "A check") against an OCI / Docker registry. I/O.
// Beast and OpenSSL stay in the .cpp files (http/connection.hpp is included by client.cpp only).
#include "core/awaitable.hpp"
#include "image/image_ref.hpp"
#include "registry/credentials.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::registry {

// Per registry host settings, usually built by host_options_from (config.registries + credentials).
struct host_options
{
    std::string ca_file;               // PEM file trusted in addition to the system CAs
    bool insecure_http = false;        // plain http:// instead of https://
    std::optional<credentials> creds;  // nullopt = anonymous, unless helper is set
    // When creds is empty: a docker credential helper run only once the registry asks for
    // credentials (a token request or a Basic challenge), at most once per resolve. If it fails the
    // request goes on anonymously and a refusal names the helper's error.
    std::optional<credential_helper> helper{};
};

// registries.<host>.ca_file / insecure_http and find_credentials(cfg, host, env).
host_options host_options_from(const config::config& cfg, std::string_view host, const env_lookup& env);

struct client_settings
{
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);   // resolve + connect + TLS handshake
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);  // write + read of one request
    std::chrono::milliseconds helper_timeout = std::chrono::seconds(10);   // one credential helper run
    // Keep-alive: idle connections kept per host (scheme, host:port and ca_file), and how long.
    std::size_t max_idle_per_host = 6;  // = max_connections_per_host: a burst closes none of them
    // Idle connections kept in all: token realms are a registry's choice, and each new realm host
    // would otherwise keep a descriptor for idle_timeout.
    std::size_t max_idle_total = 128;
    // Requests in flight per registry endpoint; more wait for a connection to come back. Keeps a
    // sweep of many tags on a few warm keep-alive connections instead of one handshake each.
    std::size_t max_connections_per_host = 6;
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
    // Called with a registry host as written in image references ("ghcr.io", "registry.test:5443")
    // and with token realm hosts ("registry.test:5001"), once per resolve. Empty = defaults.
    std::function<host_options(std::string_view host)> host_options_for;
    // Observer of every HTTP exchange (for imagewatch_registry_requests_total{host,method,code}):
    // the host:port connected to (the registry's endpoint, "registry-1.docker.io" for docker.io, or
    // the token realm's host), the method ("HEAD", "GET"; "POST" for an identity token), and the
    // HTTP status, or 0 when no answer came (resolve, connect, TLS, timeout, cancellation, malformed
    // answer). A request retried because a kept-alive connection turned out closed is one exchange.
    std::function<void(std::string_view host, std::string_view method, unsigned status)> on_request;
    // The clock of the token cache and of Retry-After (tests). Empty = steady_clock::now.
    std::function<std::chrono::steady_clock::time_point()> now;
};

// What a tag (or digest) points to, for one platform (docs/watching.md "Staleness").
struct resolved
{
    std::string digest;      // Docker-Content-Digest: the index digest for a multi-platform tag
    std::string effective;   // the platform manifest's digest when digest is an index, else digest
    std::string media_type;  // the manifest's Content-Type without parameters ("" if none was sent)
};

// What a client holds, for tests and operators. Each count is bounded whatever registries and
// token servers answer: realms, services and hosts they name come and go with the requests.
struct client_footprint
{
    std::size_t tokens = 0;            // cached tokens (at most token_cache::default_max_entries)
    std::size_t challenges = 0;        // last challenge per registry host (hosts of watched images)
    std::size_t endpoints = 0;         // endpoints with a request in flight or waiting
    std::size_t idle_connections = 0;  // kept-alive connections
};

class client
{
public:
    virtual ~client();

    // Live config edits: deadlines for the requests that start after this.
    virtual void set_timeouts(std::chrono::milliseconds /*connect*/, std::chrono::milliseconds /*request*/) {}

    // HEAD /v2/<repository>/manifests/<digest or tag> with the manifest Accept types, following a
    // Bearer (token realm) or Basic challenge; digest = Docker-Content-Digest. When the answer's
    // Content-Type is an OCI index or Docker manifest list, GET /v2/<repository>/manifests/<digest>
    // (4 MiB limit; its sha256 must equal digest) and effective = the child for `platform`
    // ("os/arch[/variant]", "" = linux/amd64; see select_platform_manifest). The child of an index
    // digest is remembered (content-addressed), so a warm check of an unchanged index is one HEAD.
    // Errors: errc::invalid_argument (bad platform), errc::unauthorized (401/403, credentials
    // refused or missing), errc::not_found (404, or no manifest for the platform: the message names
    // it and the platforms the index has), errc::rate_limited (429; 503 with Retry-After),
    // errc::unreachable (resolve, connect or TLS, e.g. "certificate verify failed"),
    // errc::timed_out, errc::bad_response (no or malformed digest, bad challenge or token, index
    // digest mismatch or unparsable index), errc::failed (other statuses). Never throws for these.
    // Each request is bounded by connect_timeout + request_timeout; cancellation is honoured.
    // Connections are kept alive and reused per host; a request that finds its kept-alive
    // connection closed by the server (no byte of an answer) is sent once more on a new connection.
    virtual awaitable<result<resolved>> resolve(image_ref ref, std::string platform) = 0;

    // Retry-After, the way this interface exposes it: after a 429/503 carrying Retry-After, the
    // message says "retry after <N>s" and the client remembers the deadline for that registry host.
    // Until it passes, resolve for that host fails at once with errc::rate_limited (no request
    // is sent) and this returns the time left (rounded up); otherwise nullopt.
    virtual std::optional<std::chrono::seconds> retry_after(std::string_view registry_host) const = 0;

    virtual client_footprint footprint() const = 0;
};

// The client keeps its token cache and connection pool and must outlive every resolve it starts.
std::unique_ptr<client> make_client(asio::any_io_executor ex, client_settings settings);

}  // namespace imagewatch::registry
