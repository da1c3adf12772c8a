#include "registry/credentials.hpp"

#include "core/base64.hpp"
#include "core/file_stamp.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/small_file.hpp"
#include "core/text.hpp"
#include "image/registry_host.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

namespace imagewatch::registry {

namespace {

// Real docker configs are a few KiB; the cap is checked before reading.
constexpr std::size_t max_docker_config_size = 4 * 1024 * 1024;

// Both variables set and non-empty after trimming, else nullopt.
std::optional<credentials> from_env_pair(const env_lookup& env, std::string_view user_var, std::string_view pass_var,
                                         std::string source)
{
    if (user_var.empty() || pass_var.empty() || !env)
        return std::nullopt;
    auto u = env(user_var);
    auto p = env(pass_var);
    if (!u || !p)
        return std::nullopt;
    auto user = std::string(trim(*u));
    auto pass = std::string(trim(*p));
    if (user.empty() || pass.empty())
        return std::nullopt;
    return credentials{std::move(user), std::move(pass), std::move(source)};
}

// "https://ghcr.io/v1/" -> "ghcr.io" (docker's ConvertToHostname).
std::string_view key_host(std::string_view key)
{
    for (std::string_view scheme : {"https://", "http://"})
        if (key.substr(0, scheme.size()) == scheme)
            key.remove_prefix(scheme.size());
    return key.substr(0, key.find('/'));
}

// A docker config key names host when its host part is the same registry.
bool same_registry_key(std::string_view key, std::string_view host) { return same_registry(key_host(key), host); }

std::string docker_config_path(const config::config& cfg, const env_lookup& env)
{
    if (!cfg.docker_config.empty())
        return cfg.docker_config;
    if (env)
    {
        if (auto dir = env("DOCKER_CONFIG"); dir && !trim(*dir).empty())
            return std::string(trim(*dir)) + "/config.json";
        if (auto home = env("HOME"); home && !home->empty())
            return *home + "/.docker/config.json";
    }
    return {};
}

void warn(std::string_view msg, std::string_view host, const std::string& path)
{
    log::warn(msg, {{"registry", std::string(host)}, {"path", path}});
}

credential_helper helper_for(std::string_view name, std::string_view host, std::string_view key,
                             const std::string& path)
{
    return credential_helper{"docker-credential-" + std::string(name),
                             is_docker_hub(host) ? "https://index.docker.io/v1/" : std::string(host),
                             std::string(key) + " in docker config " + path};
}

// The parsed docker config, read again only when the file changes (inode, size, mtime or ctime):
// every registry check asks for credentials, and reading and parsing the file each time was 4
// system calls and a JSON parse per check (bench/profile.py). A problem is logged once per version
// of the file. nullptr: no usable file.
const boost::json::value* load_docker_config(const std::string& path, std::string_view host)
{
    struct cached
    {
        file_stamp stamp;
        std::optional<boost::json::value> json;
    };
    static std::map<std::string, cached, std::less<>> cache;  // one thread: no lock
    const auto stamp = stamp_of(path);
    if (!stamp)
    {
        if (errno != ENOENT)
            log::warn("docker config unreadable, ignoring it",
                      {{"registry", std::string(host)}, {"path", path}, {"reason", std::strerror(errno)}});
        cache.erase(path);
        return nullptr;
    }
    if (auto it = cache.find(path); it != cache.end() && it->second.stamp == *stamp)
        return it->second.json ? &*it->second.json : nullptr;

    auto& entry = cache[path];
    entry = cached{*stamp, std::nullopt};
    // Regular files only, size-checked before reading: a FIFO would block the daemon, /dev/zero fill it.
    auto text = read_small_regular_file(path, max_docker_config_size);
    if (!text)
    {
        log::warn("docker config unusable, ignoring it",
                  {{"registry", std::string(host)}, {"error", text.error().message}});
        return nullptr;
    }
    boost::system::error_code ec;
    auto jv = boost::json::parse(*text, ec);
    if (ec || !jv.is_object())
    {
        warn("docker config is not a JSON object, ignoring it", host, path);
        return nullptr;
    }
    entry.json = std::move(jv);
    return &*entry.json;
}

credential_source from_docker_config(const std::string& path, std::string_view host)
{
    const auto* jv = load_docker_config(path, host);
    if (!jv)
        return {};
    const auto& root = jv->get_object();
    std::string source = "docker config " + path;

    if (const auto* helpers = object_field(root, "credHelpers"))
        for (const auto& [key, helper] : *helpers)
            if (same_registry_key(key, host) && helper.is_string() && !helper.get_string().empty())
                return {std::nullopt, helper_for(helper.get_string(), host, "credHelpers", path)};

    if (const auto* auths = object_field(root, "auths"))
        for (const auto& [key, entry] : *auths)
        {
            if (!same_registry_key(key, host) || !entry.is_object())
                continue;
            const auto& e = entry.get_object();
            if (auto auth = string_field(e, "auth"); !auth.empty())
            {
                auto decoded = base64_decode(auth);
                auto colon = decoded ? decoded->find(':') : std::string::npos;
                if (colon == std::string::npos || colon == 0)
                {
                    warn("docker config: auths entry has a malformed \"auth\" value, ignoring it", host, path);
                    continue;
                }
                return {credentials{decoded->substr(0, colon), decoded->substr(colon + 1), source}, std::nullopt};
            }
            if (auto user = string_field(e, "username"), pass = string_field(e, "password");
                !user.empty() && !pass.empty())
                return {credentials{std::move(user), std::move(pass), source}, std::nullopt};
            if (auto token = string_field(e, "identitytoken"); !token.empty())
                return {credentials{"", std::move(token), source + " (identitytoken)", true}, std::nullopt};
        }

    if (auto store = string_view_field(root, "credsStore"); !store.empty())
        return {std::nullopt, helper_for(store, host, "credsStore", path)};
    return {};
}

}  // namespace

credential_source find_credentials(const config::config& cfg, std::string_view registry_host, const env_lookup& env)
{
    if (auto it = cfg.registries.find(registry_host); it != cfg.registries.end())
        if (auto c = from_env_pair(env, it->second.username_env, it->second.password_env,
                                   "registries." + std::string(registry_host)))
            return {std::move(c), std::nullopt};
    if (registry_host == "ghcr.io")
        if (auto c = from_env_pair(env, "GHCR_USER", "GHCR_TOKEN", "GHCR_USER/GHCR_TOKEN"))
            return {std::move(c), std::nullopt};
    if (auto path = docker_config_path(cfg, env); !path.empty())
        return from_docker_config(path, registry_host);
    return {};
}

}  // namespace imagewatch::registry
