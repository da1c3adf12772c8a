#include "config/parse.hpp"
#include "support/temp_dir.hpp"
#include "support/test_data.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using imagewatch::env_lookup;
using imagewatch::process_env;
using imagewatch::socket_address;
using namespace imagewatch::config;
using namespace std::chrono_literals;

namespace {

using imagewatch::test::data_dir;

env_lookup fake_env(std::map<std::string, std::string, std::less<>> vars = {})
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        if (auto it = vars.find(name); it != vars.end())
            return it->second;
        return std::nullopt;
    };
}

// Parses text that must be invalid and returns its issues.
std::vector<issue> issues_of(std::string_view text, const env_lookup& env = fake_env())
{
    auto r = parse(text, env);
    REQUIRE_FALSE(r.has_value());
    return r.error();
}

// The single issue of an invalid text.
issue only_issue(std::string_view text, const env_lookup& env = fake_env())
{
    auto all = issues_of(text, env);
    REQUIRE(all.size() == 1);
    return all.front();
}

bool has_issue(const std::vector<issue>& all, std::string_view field, std::string_view fragment)
{
    for (const auto& i : all)
        if (i.field == field && i.message.find(fragment) != std::string::npos)
            return true;
    return false;
}

config parse_ok(std::string_view text, const env_lookup& env = fake_env())
{
    auto r = parse(text, env);
    if (!r)
        for (const auto& i : r.error())
            FAIL_CHECK(format_issue("test", i));
    REQUIRE(r.has_value());
    return *r;
}

const char* one_runtime = R"({"runtimes": [{"name": "app", "image": "ghcr.io/org/app:v1"}]})";

}  // namespace

TEST_CASE("a minimal config gets every default")
{
    auto cfg = parse_ok(one_runtime);
    CHECK(cfg.watch.enabled == false);
    CHECK(cfg.watch.interval == 5min);
    CHECK(cfg.watch.jitter == 10s);
    CHECK(cfg.watch.apply_on_start == true);
    CHECK(cfg.admin.listen == parse_listen("127.0.0.1:8080").value());  // the default is what the parser makes
    CHECK(cfg.admin.token_env == "ADMIN_TOKEN");
    CHECK(cfg.admin.token_file.empty());
    CHECK(cfg.admin.metrics_public == true);
    CHECK(cfg.docker.host == parse_docker_host("unix:///var/run/docker.sock").value());
    CHECK(cfg.docker.platform.empty());
    CHECK(cfg.timeouts.connect == 5s);
    CHECK(cfg.timeouts.request == 30s);
    CHECK(cfg.timeouts.pull == 10min);
    CHECK(cfg.timeouts.stop_default == 10s);
    CHECK(cfg.timeouts.health == 60s);
    CHECK(cfg.timeouts.shutdown == 60s);
    CHECK(cfg.docker_config.empty());
    CHECK(cfg.containers.name_prefix == "ws-");
    CHECK(cfg.containers.label.empty());
    CHECK(cfg.notify.webhook_url.empty());
    CHECK(cfg.hooks.github_secret_env.empty());
    // GHCR_USER / GHCR_TOKEN defaults belong to credential resolution, not to the model.
    CHECK(cfg.registries.empty());
    REQUIRE(cfg.runtimes.size() == 1);
    CHECK(cfg.runtimes[0].name == "app");
    CHECK(cfg.runtimes[0].image.str() == "ghcr.io/org/app:v1");
    CHECK(cfg.runtimes[0].containers.name_prefix == "ws-");
}

TEST_CASE("an empty object and an empty runtime list are valid")
{
    CHECK(parse_ok("{}").runtimes.empty());
    CHECK(parse_ok(R"({"runtimes": []})").runtimes.empty());
}

TEST_CASE("an empty registry entry is valid")
{
    auto cfg = parse_ok(R"({"registries": {"ghcr.io": {}}})");
    CHECK(cfg.registries.at("ghcr.io") == registry_settings{});
}

TEST_CASE("comments and trailing commas are accepted")
{
    auto cfg = parse_ok(R"(
        // line comment
        {
          /* block
             comment */
          "watch": { "interval": "1m", "jitter": "0s", },  // jitter may be zero
          "runtimes": [
            { "name": "a", "image": "nginx", },
          ],
        }
    )");
    CHECK(cfg.watch.interval == 1min);
    CHECK(cfg.watch.jitter == 0ms);
    CHECK(cfg.runtimes.at(0).image.str() == "docker.io/library/nginx:latest");
}

TEST_CASE("every field is read")
{
    auto cfg = parse_ok(R"({
      "watch": {"enabled": true, "interval": "30s", "jitter": "1s", "apply_on_start": false},
      "admin": {"listen": "unix:/run/iw.sock", "token_env": "", "token_file": "/run/secrets/t", "metrics_public": false},
      "docker": {"host": "tcp://127.0.0.1:2375", "platform": "linux/arm64/v8"},
      "timeouts": {"connect": "1s", "request": "2s", "pull": "3s", "stop_default": "4s", "health": "5s", "shutdown": "6s"},
      "registries": {
        "registry.example:5443": {"ca_file": "/etc/imagewatch/ca.crt"},
        "127.0.0.1:5000": {"insecure_http": true},
        "index.docker.io": {"username_env": "HUB_USER", "password_env": "HUB_TOKEN"}
      },
      "docker_config": "/etc/imagewatch/docker.json",
      "containers": {"name_prefix": "", "label": "team=a"},
      "notify": {"webhook_url": "https://hooks.example/x"},
      "hooks": {"github_secret_env": "GH_SECRET", "registry_token_env": "REG_TOKEN"}
    })");
    CHECK(cfg.watch == watch_settings{true, 30s, 1s, false});
    CHECK(cfg.admin == admin_settings{parse_listen("unix:/run/iw.sock").value(), "", "/run/secrets/t", false});
    CHECK(cfg.docker == docker_settings{parse_docker_host("tcp://127.0.0.1:2375").value(), "linux/arm64/v8"});
    CHECK(cfg.timeouts == timeouts{1s, 2s, 3s, 4s, 5s, 6s});
    CHECK(cfg.registries.at("registry.example:5443").ca_file == "/etc/imagewatch/ca.crt");
    CHECK(cfg.registries.at("127.0.0.1:5000").insecure_http);
    // index.docker.io is docker.io, as in image references.
    CHECK(cfg.registries.at("docker.io").username_env == "HUB_USER");
    CHECK(cfg.registries.size() == 3);
    CHECK(cfg.docker_config == "/etc/imagewatch/docker.json");
    CHECK(cfg.containers == selector{"", "team=a"});
    CHECK(cfg.notify.webhook_url == "https://hooks.example/x");
    CHECK(cfg.hooks == hooks_settings{"GH_SECRET", "REG_TOKEN"});
}

TEST_CASE("a runtime's containers override the top-level selector key by key")
{
    auto cfg = parse_ok(R"({
      "containers": {"name_prefix": "ws-", "label": "fleet=1"},
      "runtimes": [
        {"name": "plain", "image": "ghcr.io/org/a"},
        {"name": "label-only", "image": "ghcr.io/org/b", "containers": {"label": "app=web"}},
        {"name": "custom", "image": "registry.example:5443/team/app:stable",
         "containers": {"name_prefix": "", "label": "app=web"}},
        {"name": "prefix-only", "image": "ghcr.io/org/c", "containers": {"name_prefix": "job-"}}
      ]
    })");
    REQUIRE(cfg.runtimes.size() == 4);
    CHECK(cfg.runtimes[0].containers == selector{"ws-", "fleet=1"});
    CHECK(cfg.runtimes[1].containers == selector{"ws-", "app=web"});
    CHECK(cfg.runtimes[2].containers == selector{"", "app=web"});
    CHECK(cfg.runtimes[3].containers == selector{"job-", "fleet=1"});
}

TEST_CASE("syntax errors carry line and column")
{
    SUBCASE("missing comma")
    {
        auto i = only_issue("{\n  \"watch\": {\n    \"enabled\": true\n    \"interval\": \"5m\"\n  }\n}");
        CHECK(i.line == 4);
        CHECK(i.column == 5);
        CHECK(i.field.empty());
        CHECK(i.message.find("invalid JSON") != std::string::npos);
        CHECK(i.message.find("'\"'") != std::string::npos);
    }
    SUBCASE("bad literal")
    {
        auto i = only_issue("{\n \"a\": 1,\n \"b\": x\n}");
        CHECK(i.line == 3);
        CHECK(i.column == 7);
        CHECK(i.message.find("'x'") != std::string::npos);
    }
    SUBCASE("columns count UTF-8 characters, not bytes")
    {
        auto i = only_issue("{\"ä\": 1 ?}");
        CHECK(i.line == 1);
        CHECK(i.column == 9);
    }
    SUBCASE("unterminated document")
    {
        auto i = only_issue("{\n  \"watch\": {\n");
        CHECK(i.line == 3);
        CHECK(i.column == 1);
        CHECK(i.message.find("end of file") != std::string::npos);
    }
    SUBCASE("data after the document")
    {
        auto i = only_issue("{}\n{}");
        CHECK(i.line == 2);
        CHECK(i.column == 1);
        CHECK(i.message.find("after the end") != std::string::npos);
    }
    SUBCASE("empty text")
    {
        auto i = only_issue("");
        CHECK(i.line == 1);
        CHECK(i.column == 1);
    }
    SUBCASE("the root must be an object")
    {
        auto i = only_issue("[]");
        CHECK(i.line == 0);
        CHECK(i.message.find("must be a JSON object") != std::string::npos);
    }
}

TEST_CASE("a UTF-8 byte order mark is skipped and positions still count from the file start")
{
    CHECK(parse_ok("\xEF\xBB\xBF{}").runtimes.empty());
    auto i = only_issue("\xEF\xBB\xBF{,}");
    CHECK(i.line == 1);
    CHECK(i.column == 3);
}

TEST_CASE("unknown keys are errors at every level, with a suggestion when close")
{
    CHECK(has_issue(issues_of(R"({"watch": {"intervall": "5m"}})"), "watch.intervall",
                    R"(unknown key "intervall" (did you mean "interval"?))"));
    CHECK(has_issue(issues_of(R"({"runtime": []})"), "runtime", R"(did you mean "runtimes"?)"));
    CHECK(has_issue(issues_of(R"({"zzz": 1})"), "zzz", R"(unknown key "zzz")"));
    CHECK(only_issue(R"({"zzz": 1})").message.find("did you mean") == std::string::npos);
    CHECK(has_issue(issues_of(R"({"admin": {"tokenenv": "X"}})"), "admin.tokenenv", R"("token_env")"));
    CHECK(has_issue(issues_of(R"({"docker": {"hots": "x"}})"), "docker.hots", R"("host")"));
    CHECK(has_issue(issues_of(R"({"timeouts": {"pul": "1s"}})"), "timeouts.pul", R"("pull")"));
    CHECK(has_issue(issues_of(R"({"registries": {"ghcr.io": {"cafile": "x"}}})"), "registries.ghcr.io.cafile",
                    R"("ca_file")"));
    CHECK(has_issue(issues_of(R"({"containers": {"prefix": "x"}})"), "containers.prefix", "unknown key"));
    CHECK(has_issue(issues_of(R"({"notify": {"url": ""}})"), "notify.url", "unknown key"));
    CHECK(has_issue(issues_of(R"({"hooks": {"github_secret": ""}})"), "hooks.github_secret", R"("github_secret_env")"));
    CHECK(has_issue(
        issues_of(
            R"({"runtimes": [{"name": "a", "image": "b"}, {"name": "c", "image": "d", "containers": {"lable": "x"}}]})"),
        "runtimes[1].containers.lable", R"(did you mean "label"?)"));
    CHECK(has_issue(issues_of(R"({"runtimes": [{"name": "a", "image": "b", "tag": "v1"}]})"), "runtimes[0].tag",
                    "unknown key"));
}

TEST_CASE("wrong types name the field and both kinds")
{
    CHECK(has_issue(issues_of(R"({"watch": {"enabled": "yes"}})"), "watch.enabled",
                    "expected true or false, got a string"));
    CHECK(has_issue(issues_of(R"({"watch": {"interval": 300}})"), "watch.interval", "got a number"));
    CHECK(has_issue(issues_of(R"({"watch": []})"), "watch", "expected an object, got an array"));
    CHECK(has_issue(issues_of(R"({"runtimes": {}})"), "runtimes", "expected an array, got an object"));
    CHECK(has_issue(issues_of(R"({"runtimes": ["nginx"]})"), "runtimes[0]", "expected an object, got a string"));
    CHECK(has_issue(issues_of(R"({"runtimes": [{"name": 1, "image": "nginx"}]})"), "runtimes[0].name",
                    "expected a string, got a number"));
    CHECK(has_issue(issues_of(R"({"admin": {"listen": null}})"), "admin.listen", "got null"));
    CHECK(has_issue(issues_of(R"({"registries": {"ghcr.io": {"insecure_http": "true"}}})"),
                    "registries.ghcr.io.insecure_http", "got a string"));
    CHECK(has_issue(issues_of(R"({"registries": []})"), "registries", "expected an object"));
    CHECK(has_issue(issues_of(R"({"docker_config": false})"), "docker_config", "expected a string, got a boolean"));
}

TEST_CASE("durations: bad syntax, zero interval and zero timeouts are errors; zero jitter is not")
{
    CHECK(has_issue(issues_of(R"({"watch": {"interval": "5 minutes"}})"), "watch.interval",
                    "invalid duration \"5 minutes\""));
    CHECK(has_issue(issues_of(R"({"watch": {"interval": "0s"}})"), "watch.interval", "must be positive"));
    CHECK(has_issue(issues_of(R"({"watch": {"jitter": "-1s"}})"), "watch.jitter", "invalid duration"));
    for (const char* key : {"connect", "request", "pull", "stop_default", "health", "shutdown"})
    {
        CAPTURE(key);
        auto text = std::string(R"({"timeouts": {")") + key + R"(": "0ms"}})";
        CHECK(has_issue(issues_of(text), std::string("timeouts.") + key, "must be positive"));
    }
    CHECK(parse_ok(R"({"watch": {"jitter": "0s"}})").watch.jitter == 0ms);
}

TEST_CASE("durations past the maximum are errors that name the field")
{
    CHECK(has_issue(issues_of(R"({"watch": {"interval": "100000000h"}})"), "watch.interval", "at most 8760h"));
    CHECK(has_issue(issues_of(R"({"watch": {"jitter": "9223372036854775807s"}})"), "watch.jitter", "at most 8760h"));
    for (const char* key : {"connect", "request", "pull", "stop_default", "health", "shutdown"})
    {
        CAPTURE(key);
        auto text = std::string(R"({"timeouts": {")") + key + R"(": "99999999999999999999ms"}})";
        CHECK(has_issue(issues_of(text), std::string("timeouts.") + key, "at most 8760h"));
    }
    CHECK(parse_ok(R"({"watch": {"interval": "8760h"}})").watch.interval == 8760h);
}

TEST_CASE("runtime names and images are validated")
{
    auto all = issues_of(R"({"runtimes": [
        {"name": "a", "image": "nginx"},
        {"name": "a", "image": "redis"},
        {"name": "Bad_Name", "image": "redis"},
        {"name": "-x", "image": "redis"},
        {"name": "ok", "image": "Upper/Case"},
        {"name": "pinned", "image": "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"image": "redis"},
        {"name": "noimage"},
        {"name": "", "image": "redis"}
    ]})");
    CHECK(has_issue(all, "runtimes[1].name", R"(duplicate runtime name "a" (also runtimes[0]))"));
    CHECK(has_issue(all, "runtimes[2].name", R"(invalid runtime name "Bad_Name")"));
    CHECK(has_issue(all, "runtimes[3].name", "invalid runtime name"));
    CHECK(has_issue(all, "runtimes[4].image", R"(invalid image reference "Upper/Case")"));
    CHECK(has_issue(all, "runtimes[5].image", "pinned to a digest"));
    CHECK(has_issue(all, "runtimes[6].name", "required"));
    CHECK(has_issue(all, "runtimes[7].image", "required"));
    CHECK(has_issue(all, "runtimes[8].name", "invalid runtime name"));
    CHECK(all.size() == 8);
}

TEST_CASE("selectors are validated")
{
    CHECK(has_issue(issues_of(R"({"containers": {"name_prefix": "/ws-"}})"), "containers.name_prefix",
                    "must not start with '/'"));
    CHECK(has_issue(issues_of(R"({"containers": {"label": "=x"}})"), "containers.label", "key=value"));
    CHECK(has_issue(issues_of(R"({"runtimes": [{"name": "a", "image": "b", "containers": {"name_prefix": "ws*"}}]})"),
                    "runtimes[0].containers.name_prefix", "only letters"));
    CHECK(parse_ok(R"({"containers": {"label": "imagewatch.group"}})").containers.label == "imagewatch.group");
}

TEST_CASE("other semantic checks")
{
    CHECK(has_issue(issues_of(R"({"admin": {"listen": "localhost"}})"), "admin.listen", "missing port"));
    CHECK(has_issue(issues_of(R"({"admin": {"token_env": "ADMIN TOKEN"}})"), "admin.token_env",
                    "invalid environment variable name"));
    CHECK(has_issue(issues_of(R"({"docker": {"host": "ssh://me@host"}})"), "docker.host", "unsupported scheme"));
    CHECK(has_issue(issues_of(R"({"docker": {"host": "unix://var/run/docker.sock"}})"), "docker.host", "absolute"));
    CHECK(has_issue(issues_of(R"({"docker": {"host": "tcp://h:0"}})"), "docker.host", "invalid port"));
    CHECK(has_issue(issues_of(R"({"docker": {"platform": "amd64"}})"), "docker.platform", "os/arch"));
    CHECK(has_issue(issues_of(R"({"registries": {"https://ghcr.io": {}}})"), "registries.https://ghcr.io",
                    "not a registry host"));
    CHECK(
        has_issue(issues_of(R"({"registries": {"myregistry": {}}})"), "registries.myregistry", "not a registry host"));
    CHECK(has_issue(issues_of(R"({"registries": {"docker.io": {}, "index.docker.io": {}}})"),
                    "registries.index.docker.io", "duplicate entry"));
    CHECK(has_issue(issues_of(R"({"registries": {"ghcr.io": {"username_env": "U"}}})"), "registries.ghcr.io",
                    "both username_env and password_env"));
    CHECK(has_issue(issues_of(R"({"notify": {"webhook_url": "ftp://x"}})"), "notify.webhook_url", "http://"));
    CHECK(has_issue(issues_of(R"({"hooks": {"registry_token_env": "1X"}})"), "hooks.registry_token_env",
                    "invalid environment variable name"));
    CHECK(parse_ok(R"({"docker": {"host": "tcp://[::1]:2375"}})").docker.host.text == "tcp://[::1]:2375");
    CHECK(parse_ok(R"({"docker": {"host": "tcp://docker"}})").docker.host == parse_docker_host("tcp://docker").value());
    CHECK(parse_ok(R"({"admin": {"listen": "[::1]:9"}})").admin.listen == parse_listen("[::1]:9").value());
}

// What the Docker client cannot connect to is a config error, seen by --check-config, not a
// failure at start-up.
TEST_CASE("docker.host and DOCKER_HOST are refused when the client could not use them")
{
    const std::string long_path = "unix:///" + std::string(120, 'a');
    CHECK(has_issue(issues_of(R"({"docker": {"host": ")" + long_path + "\"}}"), "docker.host", "longer than 107"));
    CHECK(has_issue(issues_of("{}", fake_env({{"DOCKER_HOST", long_path}})), "DOCKER_HOST", "longer than 107"));
    CHECK(has_issue(issues_of(R"({"docker": {"host": "tcp://[::1]:"}})"), "docker.host", "empty port"));
}

TEST_CASE("all semantic issues are collected, not just the first")
{
    auto all = issues_of(R"({
      "watch": {"interval": "0s", "jitter": "x"},
      "admin": {"listen": "nope", "extra": 1},
      "runtimes": [{"name": "A", "image": "b"}]
    })");
    CHECK(all.size() == 5);
    CHECK(has_issue(all, "watch.interval", "positive"));
    CHECK(has_issue(all, "watch.jitter", "invalid duration"));
    CHECK(has_issue(all, "admin.listen", "invalid listen address"));
    CHECK(has_issue(all, "admin.extra", "unknown key"));
    CHECK(has_issue(all, "runtimes[0].name", "invalid runtime name"));
}

TEST_CASE("parse_listen")
{
    CHECK(parse_listen("127.0.0.1:8080").value() == socket_address{"127.0.0.1", 8080, "", "127.0.0.1:8080"});
    CHECK(parse_listen("0.0.0.0:1").value() == socket_address{"0.0.0.0", 1, "", "0.0.0.0:1"});
    CHECK(parse_listen("admin.local:65535").value() == socket_address{"admin.local", 65535, "", "admin.local:65535"});
    CHECK(parse_listen("localhost:9000").value() == socket_address{"localhost", 9000, "", "localhost:9000"});
    CHECK(parse_listen("[::1]:8080").value() == socket_address{"::1", 8080, "", "[::1]:8080"});
    CHECK(parse_listen("[::]:8080").value() == socket_address{"::", 8080, "", "[::]:8080"});
    auto u = parse_listen("unix:/run/imagewatch.sock").value();
    CHECK(u.is_unix());
    CHECK(u == socket_address{"", 0, "/run/imagewatch.sock", "unix:/run/imagewatch.sock"});
    CHECK(parse_listen("unix:///run/x.sock").value() == socket_address{"", 0, "/run/x.sock", "unix:///run/x.sock"});
    CHECK(parse_listen("unix:/" + std::string(106, 'a')).value().unix_path.size() == 107);
    for (const char* bad : {"",
                            "8080",
                            ":8080",
                            "127.0.0.1",
                            "127.0.0.1:",
                            "127.0.0.1:0",
                            "127.0.0.1:65536",
                            "127.0.0.1:80x",
                            "::1:8080",
                            "[::1]",
                            "[::1]8080",
                            "[zz]:80",
                            "[::1:80",
                            "300.1.1.1:80",
                            "1.2.3:80",
                            "bad_host:80",
                            "-a:80",
                            "unix:relative.sock",
                            "unix:",
                            "http://127.0.0.1:8080"})
    {
        CAPTURE(bad);
        auto r = parse_listen(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::invalid_argument);
        CHECK(r.error().message.find("invalid listen address \"" + std::string(bad) + "\"") != std::string::npos);
        CHECK(r.error().message.find("(expected \"HOST:PORT\", \"[IPv6]:PORT\" or \"unix:/absolute/path.sock\")") !=
              std::string::npos);
    }
    const auto why = [](std::string_view s) { return parse_listen(s).error().message; };
    CHECK(why("unix:/" + std::string(107, 'a')).find("longer than 107 bytes") != std::string::npos);
    CHECK(why("unix:run.sock").find("must be absolute") != std::string::npos);
    CHECK(why(":8080").find("missing host (use \"0.0.0.0:PORT\"") != std::string::npos);
    CHECK(why("::1:8080").find("an IPv6 address needs brackets") != std::string::npos);
    CHECK(why("h:99999").find("port must be 1-65535") != std::string::npos);
}

TEST_CASE("parse_docker_host")
{
    CHECK(parse_docker_host("unix:///var/run/docker.sock").value() ==
          socket_address{"", 0, "/var/run/docker.sock", "unix:///var/run/docker.sock"});
    CHECK(parse_docker_host("tcp://docker").value() == socket_address{"docker", 2375, "", "tcp://docker"});
    CHECK(parse_docker_host("tcp://127.0.0.1:2376").value() ==
          socket_address{"127.0.0.1", 2376, "", "tcp://127.0.0.1:2376"});
    CHECK(parse_docker_host("tcp://[::1]:2375").value() == socket_address{"::1", 2375, "", "tcp://[::1]:2375"});
    CHECK(parse_docker_host("tcp://[::1]").value() == socket_address{"::1", 2375, "", "tcp://[::1]"});
    CHECK(parse_docker_host("tcp://docker:2376/").value() == socket_address{"docker", 2376, "", "tcp://docker:2376/"});
    CHECK(parse_docker_host("unix:///" + std::string(106, 'a')).value().unix_path.size() == 107);

    const auto why = [](std::string_view s) {
        auto r = parse_docker_host(s);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::invalid_argument);
        // Every message quotes the input and says which forms are accepted.
        CHECK(r.error().message.starts_with("\"" + std::string(s) + "\": "));
        CHECK(r.error().message.ends_with(" (expected \"unix:///path/to/docker.sock\" or \"tcp://host:port\")"));
        return r.error().message;
    };
    CHECK(why("unix://var/run/docker.sock").find("unix socket path must be absolute") != std::string::npos);
    CHECK(why("unix://").find("must be absolute") != std::string::npos);
    CHECK(why("unix:///" + std::string(107, 'a')).find("longer than 107 bytes") != std::string::npos);
    CHECK(why("tcp://docker:2375/v1.41").find("a path after host:port is not supported") != std::string::npos);
    CHECK(why("tcp://docker:0").find("invalid port \"0\"") != std::string::npos);
    CHECK(why("tcp://docker:65536").find("invalid port") != std::string::npos);
    CHECK(why("tcp://docker:x").find("invalid port \"x\"") != std::string::npos);
    CHECK(why("tcp://docker:").find("empty port") != std::string::npos);
    CHECK(why("tcp://[::1]:").find("empty port") != std::string::npos);
    CHECK(why("tcp://").find("missing host") != std::string::npos);
    CHECK(why("tcp://:2375").find("missing host") != std::string::npos);
    CHECK(why("tcp://::1:2375").find("an IPv6 address needs brackets") != std::string::npos);
    CHECK(why("tcp://[zz]:2375").find("malformed IPv6 address") != std::string::npos);
    CHECK(why("tcp://[::1:2375").find("missing ']'") != std::string::npos);
    CHECK(why("tcp://bad_host").find("invalid host \"bad_host\"") != std::string::npos);
    for (const char* scheme : {"ssh://me@host", "npipe:////./pipe/docker_engine", "/var/run/docker.sock",
                               "http://h:2375", "unix:/var/run/docker.sock", ""})
        CHECK(why(scheme).find("unsupported scheme") != std::string::npos);
}

TEST_CASE("env overrides apply when set and non-empty")
{
    SUBCASE("IMAGE_AUTO_REFRESH in any case")
    {
        CHECK(parse_ok(one_runtime, fake_env({{"IMAGE_AUTO_REFRESH", "TRUE"}})).watch.enabled);
        CHECK(parse_ok(one_runtime, fake_env({{"IMAGE_AUTO_REFRESH", "true"}})).watch.enabled);
        auto text = R"({"watch": {"enabled": true}})";
        CHECK_FALSE(parse_ok(text, fake_env({{"IMAGE_AUTO_REFRESH", "False"}})).watch.enabled);
        CHECK(parse_ok(text, fake_env({{"IMAGE_AUTO_REFRESH", ""}})).watch.enabled);
        CHECK(parse_ok(text, fake_env()).watch.enabled);
        auto i = only_issue(text, fake_env({{"IMAGE_AUTO_REFRESH", "yes"}}));
        CHECK(i.field == "IMAGE_AUTO_REFRESH");
        CHECK(i.message.find("\"yes\"") != std::string::npos);
    }
    SUBCASE("DOCKER_HOST")
    {
        const auto from_env = parse_ok("{}", fake_env({{"DOCKER_HOST", "tcp://10.0.0.1:2375"}})).docker.host;
        CHECK(from_env == socket_address{"10.0.0.1", 2375, "", "tcp://10.0.0.1:2375"});
        CHECK(parse_ok("{}", fake_env({{"DOCKER_HOST", ""}})).docker.host.text == "unix:///var/run/docker.sock");
        auto i = only_issue("{}", fake_env({{"DOCKER_HOST", "ssh://x"}}));
        CHECK(i.field == "DOCKER_HOST");
        CHECK(i.message.find("unsupported scheme (expected \"unix:///") != std::string::npos);
    }
    SUBCASE("IMAGE_PLATFORM")
    {
        CHECK(parse_ok("{}", fake_env({{"IMAGE_PLATFORM", "linux/amd64"}})).docker.platform == "linux/amd64");
        CHECK(only_issue("{}", fake_env({{"IMAGE_PLATFORM", "Linux"}})).field == "IMAGE_PLATFORM");
    }
    SUBCASE("file issues and env issues are reported together")
    {
        auto all = issues_of(R"({"watch": {"interval": "0s"}})", fake_env({{"IMAGE_AUTO_REFRESH", "on"}}));
        CHECK(all.size() == 2);
    }
    SUBCASE("a null lookup means no environment")
    {
        CHECK(parse_ok("{}", env_lookup{}).docker.host.text == "unix:///var/run/docker.sock");
    }
}

TEST_CASE("load_file: a FIFO, /dev/zero or a directory fails at once, without reading")
{
    imagewatch::test::temp_dir tmp("iw-config");
    const auto& dir = tmp.path;
    const auto fifo = (dir / "config.json").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::pair<std::string, std::string> cases[] = {
        {fifo, fifo + ": not a regular file (a FIFO)"},
        {"/dev/zero", "/dev/zero: not a regular file (a character device)"},
        {dir.string(), dir.string() + ": not a regular file (a directory)"},
    };
    for (const auto& [path, message] : cases)
    {
        CAPTURE(path);
        auto r = load_file(path, fake_env());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message == message);
    }
    const auto big = (dir / "big.json").string();
    std::ofstream(big) << "{" << std::string(1024 * 1024, ' ') << "}";
    auto r = load_file(big, fake_env());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == big + ": larger than 1 MiB");
}

TEST_CASE("a quoted value cut in a message is cut between characters (messages end up in JSON)")
{
    // 1 ASCII byte and 30 two-byte characters: the 37-byte cut falls inside one.
    std::string value = "a";
    for (int i = 0; i < 30; ++i)
        value += "\xc3\xa9";
    auto all = issues_of(R"({"watch": {"enabled": ")" + value + R"("}})");
    REQUIRE(all.size() == 1);
    boost::json::error_code ec;
    auto v = boost::json::parse(boost::json::serialize(boost::json::value(all[0].message)), ec);
    CHECK_MESSAGE(!ec, all[0].message);
    CHECK(all[0].message.find("\"a\xc3\xa9") != std::string::npos);
}

TEST_CASE("format_issue has the --check-config shapes")
{
    CHECK(format_issue("/etc/iw.json", issue{3, 17, "", "invalid JSON: syntax error at 'x'"}) ==
          "/etc/iw.json:3:17: invalid JSON: syntax error at 'x'");
    CHECK(format_issue("/etc/iw.json", issue{0, 0, "runtimes[2].image", "bad"}) ==
          "/etc/iw.json: runtimes[2].image: bad");
    CHECK(format_issue("c.json", issue{0, 0, "", "the config must be a JSON object, got an array"}) ==
          "c.json: the config must be a JSON object, got an array");
}

TEST_CASE("the shipped config parses with its eight runtimes in order")
{
    auto r = load_file(data_dir + "/../../config/imagewatch.json", fake_env());
    REQUIRE_MESSAGE(r.has_value(), r.error().message);
    const auto& cfg = *r;
    const char* names[] = {"claude-code", "langgraph", "crewai",     "autogen",
                           "deepagents",  "hermes",    "gemini-cli", "openclaw"};
    REQUIRE(cfg.runtimes.size() == 8);
    for (std::size_t k = 0; k < 8; ++k)
    {
        CHECK(cfg.runtimes[k].name == names[k]);
        CHECK(cfg.runtimes[k].image.str() ==
              "ghcr.io/molecule-ai/workspace-template-" + std::string(names[k]) + ":latest");
        CHECK(cfg.runtimes[k].containers == selector{"ws-", ""});
    }
    CHECK_FALSE(cfg.watch.enabled);
    CHECK(cfg.watch == watch_settings{false, 5min, 10s, true});
    CHECK(cfg.admin == admin_settings{parse_listen("127.0.0.1:8080").value(), "ADMIN_TOKEN", "", true});
    CHECK(cfg.docker == docker_settings{parse_docker_host("unix:///var/run/docker.sock").value(), ""});
    CHECK(cfg.timeouts == timeouts{});
    REQUIRE(cfg.registries.size() == 1);
    CHECK(cfg.registries.at("ghcr.io") == registry_settings{"GHCR_USER", "GHCR_TOKEN", "", false});
}

TEST_CASE("load_file reports every issue, one per line, prefixed with the path")
{
    SUBCASE("semantic issues")
    {
        const auto path = data_dir + "/config/two_errors.json";
        std::string text;
        auto r = load_file(path, fake_env(), &text);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::invalid_argument);
        CHECK(r.error().message ==
              path + ": watch.interval: must be positive, got \"0s\"\n" + path +
                  ": runtimes[0].name: invalid runtime name \"Bad_Name\" (expected [a-z0-9][a-z0-9._-]*)");
        CHECK(text.find("Two semantic errors") != std::string::npos);
    }
    SUBCASE("syntax error")
    {
        const auto path = data_dir + "/config/syntax_error.json";
        auto r = load_file(path, fake_env());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.starts_with(path + ":4:5: invalid JSON"));
    }
    SUBCASE("valid file")
    {
        std::string text;
        auto r = load_file(data_dir + "/config/minimal.json", fake_env(), &text);
        REQUIRE(r.has_value());
        CHECK(r->runtimes.at(0).image.str() == "registry.test:5443/test/app:v1");
        CHECK(config_hash(text).starts_with("sha256:"));
    }
    SUBCASE("unreadable")
    {
        auto r = load_file(data_dir + "/config/does-not-exist.json", fake_env());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::not_found);
        CHECK(r.error().message == data_dir + "/config/does-not-exist.json: No such file or directory");
        auto d = load_file(data_dir + "/config", fake_env());
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().message == data_dir + "/config: not a regular file (a directory)");
    }
}

TEST_CASE("config_hash is sha256 of the bytes")
{
    CHECK(config_hash("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(config_hash("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("default_config_path")
{
    CHECK(default_config_path(fake_env()) == "/etc/imagewatch/config.json");
    CHECK(default_config_path(fake_env({{"IMAGEWATCH_CONFIG", ""}})) == "/etc/imagewatch/config.json");
    CHECK(default_config_path(fake_env({{"IMAGEWATCH_CONFIG", "/tmp/x.json"}})) == "/tmp/x.json");
}

TEST_CASE("process_env reads the real environment")
{
    auto env = process_env();
    CHECK(env("PATH").has_value());
    CHECK_FALSE(env("IMAGEWATCH_SURELY_UNSET_VARIABLE_42").has_value());
}

TEST_CASE("services: absent selects none; top-level default, per-runtime override key by key")
{
    SUBCASE("absent everywhere")
    {
        auto cfg = parse_ok(R"({"runtimes": [{"name": "a", "image": "ghcr.io/org/a"}]})");
        CHECK_FALSE(cfg.services.has_value());
        CHECK_FALSE(cfg.runtimes[0].services.has_value());
    }
    SUBCASE("top-level default, inherited and overridden")
    {
        auto cfg = parse_ok(R"({
          "services": {"label": "fleet=1"},
          "timeouts": {"service_update": "90s"},
          "runtimes": [
            {"name": "plain", "image": "ghcr.io/org/a"},
            {"name": "own", "image": "ghcr.io/org/b", "services": {"name_prefix": "web-"}}
          ]
        })");
        // An unset name_prefix means any service name (no "ws-" convention for services).
        CHECK(cfg.services == selector{"", "fleet=1"});
        CHECK(cfg.runtimes[0].services == selector{"", "fleet=1"});
        CHECK(cfg.runtimes[1].services == selector{"web-", "fleet=1"});
        CHECK(cfg.timeouts.service_update == 90s);
        // The container selector is untouched by the services one.
        CHECK(cfg.runtimes[0].containers == selector{"ws-", ""});
    }
    SUBCASE("only one runtime selects services")
    {
        auto cfg = parse_ok(R"({"runtimes": [
            {"name": "a", "image": "ghcr.io/org/a", "services": {}},
            {"name": "b", "image": "ghcr.io/org/b"}]})");
        CHECK(cfg.runtimes[0].services == selector{"", ""});
        CHECK_FALSE(cfg.runtimes[1].services.has_value());
    }
    SUBCASE("validated like the container selector")
    {
        auto all = issues_of(R"({"services": {"label": "=x", "color": 1},
            "runtimes": [{"name": "a", "image": "ghcr.io/org/a", "services": 3}]})");
        CHECK(has_issue(all, "services.label", "expected"));
        CHECK(has_issue(all, "services.color", ""));
        CHECK(has_issue(all, "runtimes[0].services", "expected"));
    }
}
