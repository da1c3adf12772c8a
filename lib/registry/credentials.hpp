#pragma once
// Which credentials to present to a registry (SPEC §4, §7). Pure, except that it reads the docker
// config file. Never logs a secret.
#include "config/config.hpp"
#include "core/env.hpp"

#include <functional>
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
};

// The first of, for registry_host ("ghcr.io", "registry.test:5443", "docker.io"):
//  1. registries.<host>.username_env / password_env, when both variables are non-empty after trimming;
//  2. for ghcr.io, GHCR_USER / GHCR_TOKEN under the same rule;
//  3. the docker config file (config.docker_config, else $DOCKER_CONFIG/config.json, else
//     $HOME/.docker/config.json): auths.<host>.auth (base64 "user:pass") or .username/.password.
//     Keys match with or without a scheme and path ("https://ghcr.io/v1/"); docker.io also matches
//     index.docker.io and registry-1.docker.io.
// else nullopt (anonymous). A missing docker config is normal; an unreadable or malformed one is
// logged as a warning (path and reason only) and skipped.
// Not yet supported: credHelpers / credsStore / identitytoken entries (logged once per call as a
// warning naming the helper, then skipped).
std::optional<credentials>
resolve_credentials(const config::config& cfg, std::string_view registry_host, const env_lookup& env);

// Decodes standard base64 (padding optional, whitespace ignored); nullopt on bad input. Exposed for tests.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

}  // namespace imagewatch::registry
