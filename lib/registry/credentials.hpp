#pragma once
// Which credentials to present to a registry (docs/configuration.md "registries"). Never logs a secret.
// find_credentials is pure except that it reads the docker config file;
// run_credential_helper and resolve_credentials_async run a docker credential helper (I/O).
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "core/env.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::registry {

struct credentials
{
    std::string username;
    std::string password;  // secret: never log it
    // Where they came from, for operator messages: "registries.ghcr.io", "GHCR_USER/GHCR_TOKEN",
    // "docker config /root/.docker/config.json". Not secret.
    std::string source;
    // password is an OAuth2 refresh token, not a password: docker's "identitytoken" (a helper
    // answering Username "<token>", or auths.<host>.identitytoken). username is then empty. The
    // registry client trades it at the token realm (POST grant_type=refresh_token, as docker does);
    // it cannot answer a Basic challenge.
    bool identity_token = false;
};

// A docker credential helper that holds a host's credentials: `<program> get`, with server_url on
// stdin, answers {"ServerURL","Username","Secret"} on stdout.
struct credential_helper
{
    std::string program;     // "docker-credential-pass", looked up in PATH
    std::string server_url;  // "registry.test:5443"; "https://index.docker.io/v1/" for Docker Hub
    std::string source;      // "credHelpers in docker config /root/.docker/config.json" (messages)
};

// What the configuration says about a host, before anything is run.
struct credential_source
{
    std::optional<credentials> creds;         // found directly
    std::optional<credential_helper> helper;  // else: ask this helper (creds is then empty)
};

// The first of, for registry_host ("ghcr.io", "registry.test:5443", "docker.io"):
//  1. registries.<host>.username_env / password_env, when both variables are non-empty after trimming;
//  2. for ghcr.io, GHCR_USER / GHCR_TOKEN under the same rule;
//  3. the docker config file (config.docker_config, else $DOCKER_CONFIG/config.json, else
//     $HOME/.docker/config.json), in this order:
//     a. credHelpers.<host>: that helper;
//     b. auths.<host>: .auth (base64 "user:pass"), .username/.password, or .identitytoken;
//     c. credsStore: that helper (docker itself lets credsStore hide auths entries; we prefer an
//        auths entry that holds credentials, since a server rarely has the desktop helper).
//     Keys match with or without a scheme and path ("https://ghcr.io/v1/"); docker.io also matches
//     index.docker.io and registry-1.docker.io.
// else nothing (anonymous). A missing docker config is normal; an unreadable or malformed one is
// logged as a warning (path and reason only) and skipped.
credential_source find_credentials(const config::config& cfg, std::string_view registry_host, const env_lookup& env);

// Runs `helper.program get` (posix_spawnp, PATH of this process; its own process group; stdin and
// stdout on a socket pair read through Asio, stderr to /dev/null) without blocking the event loop.
// After `timeout` the helper's process group is killed and errc::timed_out returned.
// Returns nullopt when the helper has no credentials for the server ("credentials not found").
// Errors (errc::failed, errc::timed_out, errc::bad_response) name the program and helper.source and
// quote at most the first line of a failing helper's output, never a successful one.
awaitable<result<std::optional<credentials>>> run_credential_helper(credential_helper helper,
                                                                    std::chrono::milliseconds timeout);

// find_credentials (now, before returning: cfg and env are not kept), then the helper if there is
// one. A failing helper is logged as a warning (its message, no secret) and gives nullopt, so a
// public image still works anonymously.
awaitable<std::optional<credentials>> resolve_credentials_async(
    const config::config& cfg, std::string registry_host, const env_lookup& env,
    std::chrono::milliseconds helper_timeout = std::chrono::seconds(10));

// Parses a helper's `get` answer. Username "<token>" makes an identity token (see credentials).
// errc::bad_response without quoting the output (it holds a secret). Exposed for tests.
result<credentials> parse_helper_output(std::string_view out, std::string source);

}  // namespace imagewatch::registry
