// The refresh service over a fake engine: result shape, staleness, selection, and rollback at
// every step of the swap (docs/http-api.md, docs/swap.md).
#include "core/log.hpp"
#include "fake_docker.hpp"
#include "fast_settings.hpp"
#include "refresh/select.hpp"
#include "refresh/service.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace imagewatch;
using namespace std::chrono_literals;
using test::fake_docker;

namespace {

using test::rt;

refresh::outcome run(fake_docker& d, std::vector<config::runtime> rts, bool recreate = true)
{
    refresh::outcome out;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        refresh::service svc(ioc.get_executor(), d,
                             [](image_ref) -> awaitable<std::string> { co_return std::string(); });
        out = co_await svc.refresh(rts, recreate, test::fast_settings());
    });
    return out;
}

const std::string A = "registry.test:5443/test/a:latest";
const std::string B = "registry.test:5443/test/b:latest";

}  // namespace

TEST_CASE("moved tag: its container is replaced, a runtime that did not move is skipped")
{
    fake_docker d;
    d.add_image(A, {{"PATH=/bin", "APP_VERSION=1"}});
    d.add_image(B, {});
    auto old_a = d.add_container("ws-a1", "registry.test:5443/test/a");  // same ref without tag
    auto old_b = d.add_container("ws-b1", B);
    auto new_img = d.next_image(A, {{"PATH=/bin", "APP_VERSION=2"}});

    auto out = run(d, {rt("a", A), rt("b", B)});
    CHECK_FALSE(out.fatal);
    CHECK(refresh::to_json(out.result) ==
          R"({"pulled":["a","b"],"failed":[],"recreated":["ws-a1"],"skipped":["ws-b1"],"errors":[]})");
    auto a = d.by_name("ws-a1").value();
    CHECK(a.at("Id").as_string() != old_a);
    CHECK(a.at("Image").as_string() == new_img);
    CHECK(fake_docker::running(a));
    CHECK(a.at("Config").at("Image").as_string() == "registry.test:5443/test/a");  // as the user wrote it
    CHECK(a.at("Config").at("Labels").at("imagewatch.replaced-from").as_string() == old_a);
    CHECK(d.by_name("ws-b1").value().at("Id").as_string() == old_b);
    CHECK_FALSE(d.containers.contains(old_a));
    CHECK_FALSE(d.by_name("ws-a1-imagewatch-old"));
}

TEST_CASE("stopped containers are replaced but left stopped")
{
    fake_docker d;
    d.add_image(A, {});
    d.add_container("ws-stopped", A, false);
    d.next_image(A, {});
    auto out = run(d, {rt("a", A)});
    CHECK(out.result.recreated == std::vector<std::string>{"ws-stopped"});
    CHECK_FALSE(fake_docker::running(d.by_name("ws-stopped").value()));
    CHECK(d.calls["start"] == 0);
    CHECK(d.calls["stop"] == 0);
}

TEST_CASE("selection is exact: prefix, image reference, opt-out label")
{
    fake_docker d;
    d.add_image(A, {});
    d.add_image("registry.test:5443/test/a-extra:latest", {});
    d.add_container("news-1", A);                                    // prefix is a prefix, not a substring
    d.add_container("ws-other", "registry.test:5443/test/a-extra");  // image is exact, not a substring
    d.add_container("ws-optout", A, true, {{"imagewatch.enable", "false"}});
    d.next_image(A, {});
    auto out = run(d, {rt("a", A)});
    CHECK(out.result.recreated.empty());
    CHECK(out.result.skipped.empty());
    CHECK(out.result.errors.empty());
    CHECK(d.calls["create"] == 0);
}

TEST_CASE("pull failure of one runtime: it is failed with an error, the others go on")
{
    fake_docker d;
    d.add_image(A, {});
    d.add_image(B, {});
    d.add_container("ws-a", A);
    d.add_container("ws-b", B);
    d.next_image(B, {});
    d.failing_pulls.insert(parse_image_ref(A).value().str());
    auto out = run(d, {rt("a", A), rt("b", B)});
    CHECK(out.result.pulled == std::vector<std::string>{"b"});
    CHECK(out.result.failed == std::vector<std::string>{"a"});
    CHECK(out.result.recreated == std::vector<std::string>{"ws-b"});
    REQUIRE(out.result.errors.size() == 1);
    CHECK(out.result.errors[0].runtime == "a");
    CHECK(out.result.errors[0].error == "pull: manifest unknown");
    CHECK_FALSE(out.result.ok());
}

TEST_CASE("runtimes sharing an image pull it once")
{
    fake_docker d;
    d.add_image(A, {});
    run(d, {rt("a", A), rt("a2", A)});
    CHECK(d.calls["pull"] == 1);
}

TEST_CASE("recreate off: pull only, no listing")
{
    fake_docker d;
    d.add_image(A, {});
    d.add_container("ws-a", A);
    d.next_image(A, {});
    auto out = run(d, {rt("a", A)}, false);
    CHECK(out.result.pulled == std::vector<std::string>{"a"});
    CHECK(d.calls["list"] == 0);
}

TEST_CASE("container list failure is fatal and keeps the pull outcome")
{
    fake_docker d;
    d.add_image(A, {});
    d.list_fails = true;
    auto out = run(d, {rt("a", A)});
    REQUIRE(out.fatal);
    CHECK(*out.fatal == "container list: cannot reach the Docker daemon");
    CHECK(refresh::to_json(out).starts_with(
        R"({"error":"container list: cannot reach the Docker daemon","partial_result":{"pulled":["a"])"));
}

TEST_CASE("a replacement that exits at once is rolled back: same ID, same name, running")
{
    fake_docker d;
    d.add_image(A, {});
    auto old_id = d.add_container("ws-a", A);
    d.next_image(A, {{}, true});
    auto out = run(d, {rt("a", A)});
    CHECK(out.result.recreated.empty());
    REQUIRE(out.result.errors.size() == 1);
    CHECK(out.result.errors[0].container == "ws-a");
    CHECK(out.result.errors[0].error.find("did not stay running") != std::string::npos);
    CHECK(out.result.errors[0].error.find("rolled back") != std::string::npos);
    auto c = d.by_name("ws-a").value();
    CHECK(c.at("Id").as_string() == old_id);
    CHECK(fake_docker::running(c));
    CHECK(d.containers.size() == 1);
}

TEST_CASE("a failure at any swap step restores the original container")
{
    // Steps in order of a swap; the n-th call of each op counted from the start of the refresh.
    const std::vector<std::pair<std::string, int>> steps = {
        {"inspect_image", 2}, {"inspect_image", 3},     {"rename", 1}, {"stop", 1}, {"create", 1},
        {"start", 1},         {"inspect_container", 2},
    };
    for (const auto& [op, n] : steps)
    {
        CAPTURE(op);
        CAPTURE(n);
        fake_docker d;
        d.add_image(A, {});
        auto old_id = d.add_container("ws-a", A);
        d.next_image(A, {});
        d.fail_on[op] = n;
        auto out = run(d, {rt("a", A)});
        CHECK(out.result.recreated.empty());
        REQUIRE(out.result.errors.size() == 1);
        CHECK(out.result.errors[0].error.find("injected failure") != std::string::npos);
        auto c = d.by_name("ws-a");
        REQUIRE(c);
        CHECK(c->at("Id").as_string() == old_id);
        CHECK(fake_docker::running(*c));
        CHECK_FALSE(d.by_name("ws-a-imagewatch-old"));
        CHECK(d.containers.size() == 1);
    }
}

TEST_CASE("the old container's own StopTimeout wins over the default")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    d.containers[id]["Config"].as_object()["StopTimeout"] = 42;
    d.next_image(A, {});
    run(d, {rt("a", A)});
    CHECK(d.last_stop_timeout == 42s);
}

TEST_CASE("a StopTimeout too large for deadline arithmetic is capped at 24h")
{
    // docker create --stop-timeout 9223372036854775807 stores exactly that; seconds -> milliseconds
    // -> now() + d would overflow.
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    d.containers[id]["Config"].as_object()["StopTimeout"] = std::numeric_limits<std::int64_t>::max();
    d.next_image(A, {});
    run(d, {rt("a", A)});
    CHECK(d.last_stop_timeout == 24h);
}

TEST_CASE("result JSON: arrays never null, container only when set")
{
    refresh::refresh_result r;
    CHECK(refresh::to_json(r) == R"({"pulled":[],"failed":[],"recreated":[],"skipped":[],"errors":[]})");
    r.errors.push_back({"hermes", "", "pull: manifest unknown"});
    r.errors.push_back({"hermes", "ws-1", "stop: boom"});
    CHECK(
        refresh::to_json(r) ==
        R"({"pulled":[],"failed":[],"recreated":[],"skipped":[],"errors":[{"runtime":"hermes","error":"pull: manifest unknown"},{"runtime":"hermes","container":"ws-1","error":"stop: boom"}]})");
}

TEST_CASE("select: name prefix, label forms, old-name exclusion")
{
    config::selector s{"ws-", "app=web"};
    CHECK(refresh::name_and_labels_match(s, "ws-1", {{"app", "web"}}));
    CHECK_FALSE(refresh::name_and_labels_match(s, "ws-1", {{"app", "db"}}));
    CHECK_FALSE(refresh::name_and_labels_match(s, "xws-1", {{"app", "web"}}));
    CHECK_FALSE(refresh::name_and_labels_match(s, "ws-1-imagewatch-old", {{"app", "web"}}));
    config::selector k{"", "app"};
    CHECK(refresh::name_and_labels_match(k, "anything", {{"app", ""}}));
    CHECK_FALSE(refresh::name_and_labels_match(k, "anything", {}));
}

TEST_CASE("a parked original left by an interrupted swap is settled before the next refresh")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    d.containers[id]["Name"] = "/ws-a-imagewatch-old";
    d.containers[id]["State"].as_object()["Running"] = false;
    d.next_image(A, {});
    auto out = run(d, {rt("a", A)});
    CHECK(out.result.recreated == std::vector<std::string>{"ws-a"});
    CHECK_FALSE(d.by_name("ws-a-imagewatch-old"));
    CHECK(fake_docker::running(d.by_name("ws-a").value()));
    CHECK(d.containers.size() == 1);
}

TEST_CASE("container:<parent> network mode: parent first, dependent recreated and pointed at the parent's name")
{
    fake_docker d;
    d.add_image(A, {});
    d.add_image(B, {});
    auto app = d.add_container("ws-app", B);  // listed first, already current
    auto vpn = d.add_container("ws-vpn", A);  // its network parent, stale
    d.containers[app]["HostConfig"].as_object()["NetworkMode"] = "container:" + vpn;
    d.next_image(A, {});
    auto out = run(d, {rt("a", A), rt("b", B)});
    CHECK(out.result.recreated == std::vector<std::string>{"ws-vpn", "ws-app"});
    CHECK(out.result.skipped.empty());
    CHECK(out.result.errors.empty());
    auto new_app = d.by_name("ws-app").value();
    CHECK(new_app.at("Id").as_string() != app);
    CHECK(new_app.at("HostConfig").at("NetworkMode").as_string() == "container:ws-vpn");
}

TEST_CASE("imagewatch's own container is never replaced (and not reported as skipped)")
{
    fake_docker d;
    d.add_image(A, {});
    auto me = d.add_container("ws-imagewatch", A);
    auto other = d.add_container("ws-other", A);
    d.next_image(A, {});
    refresh::outcome out;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        refresh::service svc(ioc.get_executor(), d,
                             [](image_ref) -> awaitable<std::string> { co_return std::string(); });
        auto s = test::fast_settings();
        s.self_id = me;
        std::vector<config::runtime> rts{rt("a", A)};
        out = co_await svc.refresh(rts, true, s);
    });
    CHECK(out.result.recreated == std::vector<std::string>{"ws-other"});
    CHECK(out.result.skipped.empty());
    CHECK(d.containers.contains(me));
    CHECK_FALSE(d.containers.contains(other));
}

// A refresh of several containers says how far it has come, and a pull reports its progress with
// the runtime it serves; each replacement's proof is logged.
TEST_CASE("progress: pull progress with the runtime, replacing n of m, how each new container was verified")
{
    fake_docker d;
    d.add_image(A, {});
    for (auto n : {"ws-1", "ws-2", "ws-3"})
        d.add_container(n, A);
    d.next_image(A, {});
    d.pull_reports = {{2, 0, 1000, 41'000'000}, {2, 2, 41'000'000, 41'000'000}};

    std::vector<std::string> lines;
    const log::level saved = log::min_level();
    log::configure(log::level::info, log::format::text);
    log::set_sink([&](std::string_view l) { lines.emplace_back(l); });
    auto out = run(d, {rt("a", A)});
    log::set_sink({});
    log::configure(saved, log::format::text);
    REQUIRE(out.result.recreated.size() == 3);

    // Lines holding every one of the given pieces.
    auto count = [&](std::initializer_list<std::string_view> pieces) {
        std::size_t n = 0;
        for (const auto& l : lines)
            n += std::all_of(pieces.begin(), pieces.end(),
                             [&](std::string_view p) { return l.find(p) != std::string::npos; });
        return n;
    };
    CHECK(
        count(
            {R"(msg="pull progress" runtime=a image=registry.test:5443/test/a:latest layers_done=0/2 bytes=1000B/39.1MiB)"}) ==
        1);
    CHECK(
        count(
            {R"(msg=pulled runtime=a image=registry.test:5443/test/a:latest layers_done=2/2 bytes=39.1MiB/39.1MiB took=)"}) ==
        1);
    for (auto step : {R"(step="1 of 3")", R"(step="2 of 3")", R"(step="3 of 3")"})
    {
        CHECK(count({R"(msg="replacing container" runtime=a container=ws-)", step}) == 1);
        CHECK(count({R"(msg="container replaced" runtime=a container=ws-)", step}) == 1);
    }
    CHECK(count({R"(msg="new container verified" container=ws-)", R"(check="running for 20ms")"}) == 3);
}
