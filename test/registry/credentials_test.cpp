#include "registry/credentials.hpp"

#include "core/log.hpp"
#include "registry/client.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <vector>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace imagewatch::test;
namespace fs = std::filesystem;

namespace {

env_lookup env_of(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

// The username and password (or identity token) the lookup finds; nullopt also when it names a helper.
std::optional<credentials> creds_for(const config::config& cfg, std::string_view host, const env_lookup& env)
{
    return find_credentials(cfg, host, env).creds;
}

}  // namespace

TEST_CASE("credentials: registries.<host> env vars win, trimmed")
{
    config::config cfg;
    cfg.registries["registry.test:5443"] = {"REG_USER", "REG_PASS", "", false};
    auto c = creds_for(cfg, "registry.test:5443", env_of({{"REG_USER", " admin\n"}, {"REG_PASS", "secret "}}));
    REQUIRE(c.has_value());
    CHECK(c->username == "admin");
    CHECK(c->password == "secret");
    CHECK(c->source == "registries.registry.test:5443");
}

TEST_CASE("credentials: registries.<host> with an empty variable falls through to anonymous")
{
    config::config cfg;
    cfg.registries["registry.test:5443"] = {"REG_USER", "REG_PASS", "", false};
    CHECK_FALSE(creds_for(cfg, "registry.test:5443", env_of({{"REG_USER", "admin"}, {"REG_PASS", "  "}})));
    CHECK_FALSE(creds_for(cfg, "registry.test:5443", env_of({{"REG_USER", "admin"}})));
    CHECK_FALSE(creds_for(cfg, "other:5443", env_of({{"REG_USER", "admin"}, {"REG_PASS", "x"}})));
}

TEST_CASE("credentials: GHCR_USER/GHCR_TOKEN for ghcr.io only, both non-empty after trimming")
{
    config::config cfg;
    auto env = env_of({{"GHCR_USER", "bot"}, {"GHCR_TOKEN", " ghp_x "}});
    auto c = creds_for(cfg, "ghcr.io", env);
    REQUIRE(c.has_value());
    CHECK(c->username == "bot");
    CHECK(c->password == "ghp_x");
    CHECK(c->source == "GHCR_USER/GHCR_TOKEN");
    CHECK_FALSE(creds_for(cfg, "docker.io", env));
    CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({{"GHCR_USER", "bot"}, {"GHCR_TOKEN", " "}})));
}

TEST_CASE("credentials: registries.ghcr.io is preferred over GHCR_USER/GHCR_TOKEN")
{
    config::config cfg;
    cfg.registries["ghcr.io"] = {"MY_USER", "MY_TOKEN", "", false};
    auto c = creds_for(cfg, "ghcr.io",
                       env_of({{"MY_USER", "me"}, {"MY_TOKEN", "t1"}, {"GHCR_USER", "bot"}, {"GHCR_TOKEN", "t2"}}));
    REQUIRE(c.has_value());
    CHECK(c->username == "me");
}

TEST_CASE("credentials: docker config auths entry, by explicit docker_config path")
{
    temp_dir d;
    config::config cfg;
    cfg.docker_config = d.write("cfg/config.json", R"({"auths":{
        "https://registry.test:5443/v1/": {"auth": "YWRtaW46c2VjOnJldA=="},
        "other.example": {"username": "u2", "password": "p2"}}})");
    auto c = creds_for(cfg, "registry.test:5443", env_of({}));
    REQUIRE(c.has_value());
    CHECK(c->username == "admin");
    CHECK(c->password == "sec:ret");  // only the first ':' separates
    CHECK(c->source == "docker config " + cfg.docker_config);

    c = creds_for(cfg, "other.example", env_of({}));
    REQUIRE(c.has_value());
    CHECK(c->username == "u2");
    CHECK(c->password == "p2");

    CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));
}

TEST_CASE("credentials: a docker config key names its registry as image references do (case, :443)")
{
    temp_dir d;
    config::config cfg;
    cfg.docker_config = d.write("cfg/config.json", R"({"auths":{
        "https://Registry.Test/v1/": {"username": "u1", "password": "p1"},
        "ghcr.io:443": {"username": "u2", "password": "p2"}}})");
    auto c = creds_for(cfg, "registry.test", env_of({}));
    REQUIRE(c.has_value());
    CHECK(c->username == "u1");
    c = creds_for(cfg, "ghcr.io", env_of({}));
    REQUIRE(c.has_value());
    CHECK(c->username == "u2");
    CHECK_FALSE(creds_for(cfg, "registry.test:5443", env_of({})));  // another port, another registry
}

TEST_CASE("credentials: $DOCKER_CONFIG, then $HOME/.docker, with Docker Hub aliases")
{
    temp_dir d;
    config::config cfg;
    d.write("dc/config.json", R"({"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"}}})");
    d.write("home/.docker/config.json", R"({"auths":{"ghcr.io":{"auth":"Z2g6cHc="}}})");

    auto env = env_of({{"DOCKER_CONFIG", (d.path / "dc").string()}, {"HOME", (d.path / "home").string()}});
    auto c = creds_for(cfg, "docker.io", env);
    REQUIRE(c.has_value());
    CHECK(c->username == "hub");
    CHECK_FALSE(creds_for(cfg, "ghcr.io", env));  // DOCKER_CONFIG hides ~/.docker

    env = env_of({{"HOME", (d.path / "home").string()}});
    c = creds_for(cfg, "ghcr.io", env);
    REQUIRE(c.has_value());
    CHECK(c->username == "gh");
    CHECK(c->password == "pw");
}

TEST_CASE("credentials: env sources win over the docker config")
{
    temp_dir d;
    config::config cfg;
    cfg.docker_config = d.write("config.json", R"({"auths":{"ghcr.io":{"auth":"Z2g6cHc="}}})");
    auto c = creds_for(cfg, "ghcr.io", env_of({{"GHCR_USER", "bot"}, {"GHCR_TOKEN", "t"}}));
    REQUIRE(c.has_value());
    CHECK(c->username == "bot");
}

TEST_CASE("credentials: missing docker config is anonymous and silent")
{
    log_capture logs;
    config::config cfg;
    cfg.docker_config = "/nonexistent/imagewatch/config.json";
    CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));
    CHECK(logs.lines.empty());
}

TEST_CASE("credentials: malformed docker config warns without secrets and is skipped")
{
    temp_dir d;
    log_capture logs;
    config::config cfg;
    cfg.docker_config = d.write("config.json", R"({"auths":{"ghcr.io":{"auth":"c2VjcmV0LW5vLWNvbG9u"}}})");
    CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));  // "secret-no-colon"
    REQUIRE(logs.lines.size() == 1);
    CHECK(logs.text.find("malformed") != std::string::npos);
    CHECK(logs.text.find("secret") == std::string::npos);
    CHECK(logs.text.find("c2VjcmV0") == std::string::npos);

    logs.lines.clear();
    cfg.docker_config = d.write("bad.json", "{not json");
    CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));
    REQUIRE(logs.lines.size() == 1);
    CHECK(logs.text.find("bad.json") != std::string::npos);
}

TEST_CASE("credentials: a docker config that is a FIFO, a device, a directory or huge is skipped unread")
{
    temp_dir d;
    const auto fifo = (d.path / "fifo.json").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto big = d.write("big.json", R"({"auths":{}, "pad": ")" + std::string(4 * 1024 * 1024, 'x') + "\"}");
    const std::pair<std::string, std::string> cases[] = {
        {fifo, "not a regular file (a FIFO)"},
        {"/dev/zero", "not a regular file (a character device)"},
        {d.path.string(), "not a regular file (a directory)"},
        {big, "larger than 4 MiB"},
    };
    for (const auto& [path, reason] : cases)
    {
        CAPTURE(path);
        log_capture logs;
        config::config cfg;
        cfg.docker_config = path;
        CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));
        CHECK_FALSE(creds_for(cfg, "ghcr.io", env_of({})));  // warned once per version
        REQUIRE(logs.lines.size() == 1);
        CHECK(logs.text.find(path + ": " + reason) != std::string::npos);
    }
}

TEST_CASE("credentials: credHelpers, then auths with credentials, then credsStore")
{
    temp_dir d;
    config::config cfg;
    cfg.docker_config = d.write("config.json", R"({"auths":{"ghcr.io":{},"quay.io":{"auth":"cTpwdw=="},
        "https://registry.test:5443":{"auth":"YWRtaW46c2VjcmV0"}},
        "credsStore":"desktop","credHelpers":{"registry.test:5443":"pass","https://index.docker.io/v1/":"hub"}})");

    // credHelpers wins over an auths entry for the same host.
    auto f = find_credentials(cfg, "registry.test:5443", env_of({}));
    CHECK_FALSE(f.creds);
    REQUIRE(f.helper);
    CHECK(f.helper->program == "docker-credential-pass");
    CHECK(f.helper->server_url == "registry.test:5443");
    CHECK(f.helper->source == "credHelpers in docker config " + cfg.docker_config);

    // Docker Hub is asked for under its historical server URL.
    f = find_credentials(cfg, "docker.io", env_of({}));
    REQUIRE(f.helper);
    CHECK(f.helper->program == "docker-credential-hub");
    CHECK(f.helper->server_url == "https://index.docker.io/v1/");

    // An auths entry holding credentials beats credsStore; an empty one (docker login with a
    // store) and no entry at all fall to credsStore.
    f = find_credentials(cfg, "quay.io", env_of({}));
    REQUIRE(f.creds);
    CHECK(f.creds->username == "q");
    CHECK_FALSE(f.helper);
    for (const char* host : {"ghcr.io", "example.org"})
    {
        f = find_credentials(cfg, host, env_of({}));
        CHECK_FALSE(f.creds);
        REQUIRE(f.helper);
        CHECK(f.helper->program == "docker-credential-desktop");
        CHECK(f.helper->source == "credsStore in docker config " + cfg.docker_config);
    }

    // Environment sources still come first.
    f = find_credentials(cfg, "ghcr.io", env_of({{"GHCR_USER", "bot"}, {"GHCR_TOKEN", "t"}}));
    REQUIRE(f.creds);
    CHECK_FALSE(f.helper);
}

TEST_CASE("credentials: auths identitytoken is an identity token")
{
    temp_dir d;
    config::config cfg;
    cfg.docker_config = d.write("config.json", R"({"auths":{"acr.example":{"identitytoken":"refresh-xyz"}}})");
    auto f = find_credentials(cfg, "acr.example", env_of({}));
    REQUIRE(f.creds);
    CHECK(f.creds->identity_token);
    CHECK(f.creds->username.empty());
    CHECK(f.creds->password == "refresh-xyz");
}

TEST_CASE("host_options_from: ca_file and insecure_http of registries.<host>, credentials or helper")
{
    temp_dir d;
    config::config cfg;
    cfg.registries["registry.test:5443"] = config::registry_settings{"", "", "/etc/iw/ca.crt", false};
    cfg.registries["127.0.0.1:5000"] = config::registry_settings{"U", "P", "", true};
    cfg.docker_config = d.write("config.json", R"({"credHelpers":{"registry.test:5443":"pass"}})");

    auto o = host_options_from(cfg, "registry.test:5443", env_of({}));
    CHECK(o.ca_file == "/etc/iw/ca.crt");
    CHECK_FALSE(o.insecure_http);
    CHECK_FALSE(o.creds);
    REQUIRE(o.helper);
    CHECK(o.helper->program == "docker-credential-pass");

    o = host_options_from(cfg, "127.0.0.1:5000", env_of({{"U", "me"}, {"P", "pw"}}));
    CHECK(o.insecure_http);
    REQUIRE(o.creds);
    CHECK(o.creds->username == "me");
    CHECK_FALSE(o.helper);

    o = host_options_from(cfg, "ghcr.io", env_of({}));
    CHECK(o.ca_file.empty());
    CHECK_FALSE(o.creds);
    CHECK_FALSE(o.helper);
}

TEST_CASE("credentials: the docker config is read again once it changes (docker login renames over it)")
{
    temp_dir d;
    log_capture logs;
    config::config cfg;
    cfg.docker_config = d.write("config.json", R"({"auths":{"ghcr.io":{"auth":"YTpw"}}})");  // a:p
    auto first = find_credentials(cfg, "ghcr.io", env_of({}));
    REQUIRE(first.creds);
    CHECK(first.creds->username == "a");
    CHECK(find_credentials(cfg, "ghcr.io", env_of({})).creds->username == "a");  // from the cache

    // Same size, new file renamed over the old one: a new inode.
    auto next = d.write("config.json.tmp", R"({"auths":{"ghcr.io":{"auth":"Yjpx"}}})");  // b:q
    fs::rename(next, cfg.docker_config);
    auto second = find_credentials(cfg, "ghcr.io", env_of({}));
    REQUIRE(second.creds);
    CHECK(second.creds->username == "b");
    CHECK(second.creds->password == "q");

    // Rewritten in place with another size.
    d.write("config.json", R"({"auths":{"ghcr.io":{"auth":"Y2M6cnI="}}})");  // cc:rr
    auto third = find_credentials(cfg, "ghcr.io", env_of({}));
    REQUIRE(third.creds);
    CHECK(third.creds->username == "cc");

    // Broken, then removed: anonymous, one warning for the broken version however often it is read.
    d.write("config.json", "{broken");
    CHECK_FALSE(find_credentials(cfg, "ghcr.io", env_of({})).creds);
    CHECK_FALSE(find_credentials(cfg, "ghcr.io", env_of({})).creds);
    CHECK(logs.lines.size() == 1);
    fs::remove(cfg.docker_config);
    CHECK_FALSE(find_credentials(cfg, "ghcr.io", env_of({})).creds);
    CHECK(logs.lines.size() == 1);
}
