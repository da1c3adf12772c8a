#include "config/diff.hpp"
#include "config/parse.hpp"
#include "support/runtimes.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace imagewatch::config;
using namespace std::chrono_literals;

namespace {

using names = std::vector<std::string>;

using imagewatch::test::rt;

config base()
{
    config c;
    c.runtimes = {
        rt("claude-code", "ghcr.io/molecule-ai/workspace-template-claude-code:latest"),
        rt("langgraph", "ghcr.io/molecule-ai/workspace-template-langgraph:latest"),
        rt("hermes", "ghcr.io/molecule-ai/workspace-template-hermes:latest"),
    };
    return c;
}

// Every flag off: only the listed vectors may be non-empty.
void check_no_flags(const change& d)
{
    CHECK_FALSE(d.reordered);
    CHECK_FALSE(d.watch_changed);
    CHECK_FALSE(d.admin_listen_changed);
    CHECK_FALSE(d.admin_changed);
    CHECK_FALSE(d.docker_changed);
    CHECK_FALSE(d.timeouts_changed);
    CHECK_FALSE(d.registries_changed);
    CHECK_FALSE(d.notify_changed);
    CHECK_FALSE(d.hooks_changed);
}

}  // namespace

TEST_CASE("identical configs: no change")
{
    auto d = diff(base(), base());
    CHECK(d.added.empty());
    CHECK(d.removed.empty());
    CHECK(d.changed.empty());
    check_no_flags(d);
    CHECK_FALSE(d.any());
}

TEST_CASE("added and removed runtimes, in config order")
{
    auto old_cfg = base();
    auto new_cfg = base();
    new_cfg.runtimes.erase(new_cfg.runtimes.begin() + 1);  // langgraph
    new_cfg.runtimes.push_back(rt("openclaw", "ghcr.io/molecule-ai/workspace-template-openclaw:latest"));
    new_cfg.runtimes.insert(new_cfg.runtimes.begin(),
                            rt("crewai", "ghcr.io/molecule-ai/workspace-template-crewai:latest"));
    auto d = diff(old_cfg, new_cfg);
    CHECK(d.added == names{"crewai", "openclaw"});
    CHECK(d.removed == names{"langgraph"});
    CHECK(d.changed.empty());
    check_no_flags(d);
    CHECK(d.any());
}

TEST_CASE("a changed image or selector marks the runtime changed")
{
    auto new_cfg = base();
    new_cfg.runtimes[0].image =
        imagewatch::parse_image_ref("ghcr.io/molecule-ai/workspace-template-claude-code:v2").value();
    new_cfg.runtimes[2].containers.label = "team=x";
    auto d = diff(base(), new_cfg);
    CHECK(d.added.empty());
    CHECK(d.removed.empty());
    CHECK(d.changed == names{"claude-code", "hermes"});
    check_no_flags(d);
}

TEST_CASE("a changed top-level selector shows through the resolved runtime selectors")
{
    const char* old_text = R"({"runtimes": [{"name": "a", "image": "ghcr.io/o/a"},
        {"name": "b", "image": "ghcr.io/o/b", "containers": {"name_prefix": "b-"}}]})";
    const char* new_text = R"({"containers": {"name_prefix": "x-"}, "runtimes": [{"name": "a", "image": "ghcr.io/o/a"},
        {"name": "b", "image": "ghcr.io/o/b", "containers": {"name_prefix": "b-"}}]})";
    auto env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto d = diff(parse(old_text, env).value(), parse(new_text, env).value());
    CHECK(d.changed == names{"a"});
}

TEST_CASE("only the interval changed: runtimes unchanged, watch_changed")
{
    auto new_cfg = base();
    new_cfg.watch.interval = 1min;
    auto d = diff(base(), new_cfg);
    CHECK(d.added.empty());
    CHECK(d.removed.empty());
    CHECK(d.changed.empty());
    CHECK(d.watch_changed);
    CHECK_FALSE(d.timeouts_changed);
    CHECK_FALSE(d.admin_changed);
    CHECK(d.any());
}

TEST_CASE("section flags")
{
    SUBCASE("listen re-binds and is an admin change")
    {
        auto n = base();
        n.admin.listen = parse_listen("127.0.0.1:9090").value();
        auto d = diff(base(), n);
        CHECK(d.admin_listen_changed);
        CHECK(d.admin_changed);
    }
    SUBCASE("two spellings of one socket are no re-bind, nor a docker.host change")
    {
        auto a = base();
        auto b = base();
        a.admin.listen = parse_listen("unix:/run/iw.sock").value();
        b.admin.listen = parse_listen("unix:///run/iw.sock").value();
        a.docker.host = parse_docker_host("tcp://docker").value();
        b.docker.host = parse_docker_host("tcp://docker:2375/").value();
        auto d = diff(a, b);
        CHECK_FALSE(d.admin_listen_changed);
        CHECK_FALSE(d.docker_host_changed);
        CHECK(d.admin_changed);  // the text differs: status and logs show the new one
        CHECK(d.docker_changed);
        b.docker.host = parse_docker_host("tcp://docker:2376").value();
        CHECK(diff(a, b).docker_host_changed);
    }
    SUBCASE("token source is an admin change without re-bind")
    {
        auto n = base();
        n.admin.token_file = "/run/secrets/t";
        auto d = diff(base(), n);
        CHECK_FALSE(d.admin_listen_changed);
        CHECK(d.admin_changed);
    }
    SUBCASE("docker, timeouts, registries, docker_config, notify, hooks")
    {
        auto n = base();
        n.docker.platform = "linux/arm64";
        CHECK(diff(base(), n).docker_changed);
        n = base();
        n.timeouts.pull = 1min;
        CHECK(diff(base(), n).timeouts_changed);
        n = base();
        n.registries["ghcr.io"].ca_file = "/ca.crt";
        CHECK(diff(base(), n).registries_changed);
        n = base();
        n.docker_config = "/x/config.json";
        CHECK(diff(base(), n).registries_changed);
        n = base();
        n.notify.webhook_url = "https://x";
        CHECK(diff(base(), n).notify_changed);
        n = base();
        n.hooks.github_secret_env = "S";
        CHECK(diff(base(), n).hooks_changed);
    }
    SUBCASE("reordering is noticed but changes no runtime")
    {
        auto n = base();
        std::swap(n.runtimes[0], n.runtimes[2]);
        auto d = diff(base(), n);
        CHECK(d.reordered);
        CHECK(d.changed.empty());
        CHECK(d.added.empty());
        CHECK(d.removed.empty());
    }
}
