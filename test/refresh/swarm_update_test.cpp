// Swarm service updates over a fake manager: pinned spec written with credentials, followed to
// Swarm's end state, skipped when already on the digest, conflicts retried once, and a clear
// error where the engine cannot update services. Plus: a refresh never swaps a task container.
#include "fake_docker.hpp"
#include "fake_swarm.hpp"
#include "fast_settings.hpp"
#include "refresh/service.hpp"
#include "refresh/swarm_update.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace std::chrono_literals;
using test::fake_swarm;

namespace {

const std::string IMG = "registry.test:5444/team/web:v1";
const std::string D1 = "sha256:" + std::string(64, '1');
const std::string D2 = "sha256:" + std::string(64, '2');

config::runtime web(std::optional<config::selector> services = config::selector{"", ""})
{
    config::runtime rt{"web", parse_image_ref(IMG).value(), config::selector{"ws-", ""}, {}};
    rt.services = std::move(services);
    return rt;
}

refresh::refresh_result update(fake_swarm& d, std::vector<config::runtime> rts, std::chrono::milliseconds timeout = 2s)
{
    refresh::refresh_result res;
    test::run_coro([&](asio::io_context&) -> awaitable<void> {
        std::vector<const config::runtime*> pulled;
        for (const auto& rt : rts)
            pulled.push_back(&rt);
        auto auth = [](image_ref ref) -> awaitable<std::string> { co_return "auth-for-" + ref.registry; };
        co_await refresh::update_services(d, auth, pulled, refresh::swarm_update_settings{timeout, 5ms}, res);
    });
    return res;
}

// A manager with service "web" on v1@D1 whose tag now points at D2.
fake_swarm moved()
{
    fake_swarm d;
    d.add_service("s1", "web", IMG + "@" + D1, {{"tier", "front"}});
    d.repo_digests[parse_image_ref(IMG).value().str()] = "registry.test:5444/team/web@" + D2;
    return d;
}

}  // namespace

TEST_CASE(
    "a moved tag: the service spec is written pinned to the new digest, with credentials, and followed to completed")
{
    auto d = moved();
    d.script["s1"] = {"completed", "update completed", 2, 3};  // Swarm starts late, rolls for a while
    auto before = d.services["s1"].at("Spec").as_object();
    auto res = update(d, {web()});
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].runtime == "web");
    CHECK(res.services[0].service == "web");
    CHECK(res.services[0].result == "updated");
    CHECK(res.services[0].image == IMG + "@" + D2);
    CHECK(res.services[0].message == "update completed");
    CHECK(res.errors.empty());
    CHECK(d.image_of("s1") == IMG + "@" + D2);
    CHECK(d.update_auth == std::vector<std::string>{"auth-for-registry.test:5444"});
    // Nothing but the image changed in the spec.
    auto after = d.services["s1"].at("Spec").as_object();
    after["TaskTemplate"].as_object()["ContainerSpec"].as_object()["Image"] = IMG + "@" + D1;
    CHECK(boost::json::serialize(after) == boost::json::serialize(before));
    // It waited through the late start and the rolling states: 2 + 3 + the final inspect, plus the read.
    CHECK(d.calls["inspect_service"] == 1 + 2 + 3 + 1);
}

TEST_CASE("already on the digest: skipped, nothing written")
{
    fake_swarm d;
    d.add_service("s1", "web", IMG + "@" + D2);
    d.repo_digests[parse_image_ref(IMG).value().str()] = "registry.test:5444/team/web@" + D2;
    auto res = update(d, {web()});
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].result == "skipped");
    CHECK(res.errors.empty());
    CHECK(d.calls["update_service"] == 0);
}

TEST_CASE("Swarm rolls back: rolled_back with Swarm's message and its reason, an error for the runtime")
{
    auto d = moved();
    d.script["s1"] = {"rollback_completed", "rollback completed", 0, 2,
                      "update rolled back due to failure or early termination of task t9"};
    auto res = update(d, {web()});
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].result == "rolled_back");
    CHECK(res.services[0].message ==
          "rollback completed (update rolled back due to failure or early termination of task t9)");
    REQUIRE(res.errors.size() == 1);
    CHECK(res.errors[0].runtime == "web");
    CHECK(res.errors[0].error == "service web: rolled back by Swarm: rollback completed (update rolled back due to "
                                 "failure or early termination of task t9)");
    CHECK(d.image_of("s1") == IMG + "@" + D1);  // Swarm's PreviousSpec again
}

TEST_CASE("Swarm pauses: paused with Swarm's message")
{
    auto d = moved();
    d.script["s1"] = {"paused", "update paused due to failure or early termination of task abc", 0, 1};
    auto res = update(d, {web()});
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].result == "paused");
    CHECK(res.services[0].message.find("update paused due to failure") == 0);
    CHECK_FALSE(res.errors.empty());
}

TEST_CASE("a version conflict is re-read and retried once; a second one is reported")
{
    SUBCASE("once: retried and updated")
    {
        auto d = moved();
        d.conflicts["s1"] = 1;
        auto res = update(d, {web()});
        REQUIRE(res.services.size() == 1);
        CHECK(res.services[0].result == "updated");
        CHECK(d.calls["update_service"] == 2);
    }
    SUBCASE("twice: failed with Swarm's words")
    {
        auto d = moved();
        d.conflicts["s1"] = 2;
        auto res = update(d, {web()});
        REQUIRE(res.services.size() == 1);
        CHECK(res.services[0].result == "failed");
        CHECK(res.services[0].message.find("update out of sequence") != std::string::npos);
        CHECK(d.calls["update_service"] == 2);
        CHECK(d.image_of("s1") == IMG + "@" + D1);
    }
}

TEST_CASE("a rollout that does not end within the timeout is failed and says where it stood")
{
    auto d = moved();
    d.script["s1"] = {"never", "", 0, 1};
    auto res = update(d, {web()}, 50ms);
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].result == "failed");
    CHECK(res.services[0].message.find("did not finish within") != std::string::npos);
    CHECK(res.services[0].message.find("\"updating\"") != std::string::npos);
}

TEST_CASE("only the services the runtime selects are touched")
{
    auto d = moved();
    d.add_service("s2", "other-image", "registry.test:5444/team/db:v1@" + D1);
    d.add_service("s3", "opted-out", IMG + "@" + D1, {{"imagewatch.enable", "false"}});
    d.add_service("s4", "back-web", IMG + "@" + D1, {{"tier", "back"}});
    auto res = update(d, {web(config::selector{"", "tier=front"})});
    REQUIRE(res.services.size() == 1);
    CHECK(res.services[0].service == "web");
    CHECK(d.image_of("s2") == "registry.test:5444/team/db:v1@" + D1);
    CHECK(d.image_of("s3") == IMG + "@" + D1);
    CHECK(d.image_of("s4") == IMG + "@" + D1);
}

TEST_CASE("no services selected: the engine is not even asked whether it is in a swarm")
{
    auto d = moved();
    d.info = {"inactive", false, ""};
    auto res = update(d, {web(std::nullopt)});
    CHECK(res.services.empty());
    CHECK(res.errors.empty());
    CHECK(d.calls["info"] == 0);
}

TEST_CASE("services selected on an engine that cannot update them: one clear error per runtime")
{
    SUBCASE("not in a swarm")
    {
        auto d = moved();
        d.info = {"inactive", false, ""};
        auto res = update(d, {web()});
        REQUIRE(res.errors.size() == 1);
        CHECK(res.errors[0].runtime == "web");
        CHECK(res.errors[0].error.find("not an active swarm member (Swarm state \"inactive\")") != std::string::npos);
        CHECK(d.calls["list_services"] == 0);
    }
    SUBCASE("a worker")
    {
        auto d = moved();
        d.info = {"active", false, ""};
        auto res = update(d, {web()});
        REQUIRE(res.errors.size() == 1);
        CHECK(res.errors[0].error.find("swarm worker: only a manager can update services") != std::string::npos);
        CHECK(d.calls["update_service"] == 0);
    }
}

TEST_CASE("a pulled image without a registry digest cannot be pinned: an error, nothing written")
{
    fake_swarm d;
    d.add_service("s1", "web", IMG + "@" + D1);
    auto res = update(d, {web()});
    REQUIRE(res.errors.size() == 1);
    CHECK(res.errors[0].error.find("no registry digest") != std::string::npos);
    CHECK(d.calls["update_service"] == 0);
}

TEST_CASE("a refresh never swaps a Swarm task container, even one the container selector matches")
{
    test::fake_docker d;
    d.add_image(IMG, {});
    auto task = d.add_container("ws-web.1.x3kq", IMG, true,
                                boost::json::object{{"com.docker.swarm.service.id", "s1"},
                                                    {"com.docker.swarm.task.id", "t1"},
                                                    {"com.docker.swarm.node.id", "n1"}});
    auto plain = d.add_container("ws-plain", IMG);
    d.next_image(IMG, {});
    refresh::outcome out;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        refresh::service svc(ioc.get_executor(), d,
                             [](image_ref) -> awaitable<std::string> { co_return std::string(); });
        std::vector<config::runtime> rts{web(std::nullopt)};
        out = co_await svc.refresh(rts, true, test::fast_settings());
    });
    CHECK(out.result.recreated == std::vector<std::string>{"ws-plain"});
    // Not selected at all: neither swapped nor counted as a failed swap (which would fail every
    // refresh of the runtime for as long as the service runs).
    CHECK(out.result.errors.empty());
    CHECK(out.result.skipped.empty());
    CHECK(d.containers.contains(task));
    CHECK(d.by_name("ws-web.1.x3kq").value().at("Id").as_string() == task);
    CHECK_FALSE(d.containers.contains(plain));
}
