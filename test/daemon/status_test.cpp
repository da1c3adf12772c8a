#include "daemon/status.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::daemon;
namespace json = boost::json;

namespace {

config::runtime make_runtime(std::string name, std::string_view image)
{
    return config::runtime{std::move(name), parse_image_ref(image).value(), {}, {}};
}

std::chrono::system_clock::time_point at(std::int64_t unix_seconds)
{
    return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

}  // namespace

TEST_CASE("before the watcher first ran, every configured runtime is pending")
{
    const std::vector<config::runtime> configured = {make_runtime("a", "ghcr.io/o/a:1"),
                                                     make_runtime("b", "ghcr.io/o/b:2")};
    auto rows = status_rows({}, configured, {{"b", 3}});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "a");
    CHECK(rows[0].image == "ghcr.io/o/a:1");
    CHECK(rows[0].last_result == "pending");
    CHECK(rows[0].containers == 0);
    CHECK(rows[1].containers == 3);  // counted from the container list, no check needed
}

TEST_CASE("a fresh container count overrides the watcher's figure; without one the watcher's stands")
{
    watch::runtime_status a;
    a.name = "a";
    a.containers = 1;
    watch::runtime_status b;
    b.name = "b";
    b.containers = 4;
    auto rows = status_rows({a, b}, {}, {{"a", 7}});
    CHECK(rows[0].containers == 7);
    CHECK(rows[1].containers == 4);
}

TEST_CASE("the status JSON: every field, nulls where nothing is known yet")
{
    status_snapshot s;
    s.version = "1.2.3";
    s.config_path = "/etc/imagewatch/config.json";
    s.loaded_at = at(1714564800);  // 2024-05-01T12:00:00Z
    s.config_hash = "sha256:ab";
    s.watch_enabled = true;
    watch::runtime_status checked;
    checked.name = "web";
    checked.image = "ghcr.io/o/web:latest";
    checked.digest = "sha256:cd";
    checked.last_check = at(1714564801);
    checked.last_result = "unchanged";
    checked.next_check = at(1714564861);
    checked.containers = 2;
    checked.rollout = refresh::rollout_status{"sha256:cd", refresh::rollout_state::halted, 1, 1, 3, std::nullopt};
    watch::runtime_status failing;
    failing.name = "api";
    failing.image = "ghcr.io/o/api:latest";
    failing.last_result = "error";
    failing.last_error = "registry: 503";
    s.runtimes = {checked, failing};
    s.watch_tasks = 2;

    const auto v = json::parse(render_status(s));
    const auto expected = json::parse(R"({
        "version": "1.2.3",
        "config": {"path": "/etc/imagewatch/config.json", "loaded_at": "2024-05-01T12:00:00Z",
                   "hash": "sha256:ab", "last_error": null},
        "watch_enabled": true,
        "runtimes": [
            {"name": "web", "image": "ghcr.io/o/web:latest", "digest": "sha256:cd",
             "last_check": "2024-05-01T12:00:01Z", "last_result": "unchanged", "last_error": null,
             "next_check": "2024-05-01T12:01:01Z", "containers": 2,
             "rollout": {"digest": "sha256:cd", "state": "halted", "replaced": 1, "failed": 1, "remaining": 3,
                         "until": null}},
            {"name": "api", "image": "ghcr.io/o/api:latest", "digest": null, "last_check": null,
             "last_result": "error", "last_error": "registry: 503", "next_check": null, "containers": 0,
             "rollout": null}
        ],
        "watch_tasks": 2
    })");
    CHECK(v == expected);
}

TEST_CASE("a failed reload shows in config.last_error")
{
    status_snapshot s;
    s.last_reload_error = "config.json:3:5: watch.interval: not a duration";
    const auto v = json::parse(render_status(s));
    CHECK(v.at("config").at("last_error") == "config.json:3:5: watch.interval: not a duration");
    CHECK(v.at("runtimes").as_array().empty());
}

TEST_CASE("a runtime's Swarm services of its last refresh show under it; others have no services key")
{
    status_snapshot s;
    watch::runtime_status web;
    web.name = "web";
    watch::runtime_status api;
    api.name = "api";
    s.runtimes = {web, api};
    s.services["web"] = {{"web", "front", "rolled_back", "reg/web:v1@sha256:ee", "rollback completed"}};
    const auto v = json::parse(render_status(s));
    CHECK(
        v.at("runtimes").at(0).at("services") ==
        json::parse(
            R"([{"service":"front","result":"rolled_back","image":"reg/web:v1@sha256:ee","message":"rollback completed"}])"));
    CHECK_FALSE(v.at("runtimes").at(1).as_object().contains("services"));
}
