// The watcher against in-process fake registries on loopback (real registry client, real sockets)
// and an in-memory engine: isolation of a dead host, shared checks, backoff, Retry-After,
// refresh on a moved digest with rollback on failure (docs/watching.md).
#include "watch/watcher.hpp"

#include "core/metrics.hpp"

#include "refresh/fake_docker.hpp"
#include "support/fake_http_server.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"
#include "support/wait.hpp"
#include <boost/asio/co_spawn.hpp>

#include <doctest/doctest.h>

#include <boost/asio/steady_timer.hpp>

using namespace imagewatch;
using namespace std::chrono_literals;
using test::fake_docker;
using test::fake_http_server;

namespace {

using test::eventually;
using test::sleep_for;

using steady = std::chrono::steady_clock;

// A registry that answers HEAD with the digest currently set for a repository (no auth).
struct digest_registry
{
    std::map<std::string, std::string> digests;  // repo -> digest
    std::vector<steady::time_point> heads;
    int status = 200;  // force another status for every request
    std::string retry_after;

    fake_http_server::handler handler()
    {
        return [this](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            heads.push_back(steady::now());
            fake_http_server::response res;
            res.status = static_cast<unsigned>(status);
            if (!retry_after.empty())
                res.set("Retry-After", retry_after);
            std::string target(req.target);
            for (auto& [repo, d] : digests)
                if (status == 200 && target == "/v2/" + repo + "/manifests/latest")
                {
                    res.set("Docker-Content-Digest", d);
                    res.set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json");
                    if (req["Connection"] == "close")
                        res.set("Connection", "close");
                    return res;
                }
            if (status == 200)
                res.status = 404;
            return res;
        };
    }
};

std::string digest_of(char c) { return "sha256:" + std::string(64, c); }

struct rig
{
    rig(asio::io_context& ioc, std::function<registry::host_options(std::string_view)> hosts)
        : svc(ioc.get_executor(), docker, [](image_ref) -> awaitable<std::string> { co_return std::string(); }),
          queue(ioc.get_executor(), svc, [] {
              refresh::settings s;
              s.swap.grace = 10ms;
              s.swap.poll = 2ms;
              return s;
          })
    {
        registry::client_settings rs;
        rs.connect_timeout = 1s;
        rs.request_timeout = 1s;
        rs.host_options_for = std::move(hosts);
        reg = registry::make_client(ioc.get_executor(), rs);
        w = std::make_unique<watch::watcher>(ioc.get_executor(), *reg, docker, queue,
                                             [] { return std::string("linux/amd64"); });
    }
    fake_docker docker;
    refresh::service svc;
    watch::refresh_queue queue;
    std::unique_ptr<registry::client> reg;
    std::unique_ptr<watch::watcher> w;

    watch::runtime_status st(const std::string& name) const
    {
        for (auto& s : w->status())
            if (s.name == name)
                return s;
        return {};
    }

    // A container ws-a on `image`, whose local copy was pulled at registry digest `digest`
    // (RepoDigests <repository>@<digest>); returns the container id.
    std::string add_workspace(const std::string& image, const std::string& digest)
    {
        docker.add_image(image, {});
        auto id = docker.add_container("ws-a", image);
        auto img_id = std::string(docker.containers[id].at("Image").as_string());
        const auto repository = image.substr(0, image.rfind(':'));
        docker.images[img_id]["RepoDigests"] = boost::json::array{repository + "@" + digest};
        return id;
    }
};

registry::host_options plain(std::string_view) { return registry::host_options{"", true, std::nullopt}; }

config::config make_config(std::vector<std::pair<std::string, std::string>> runtimes, duration interval = 1h)
{
    config::config c;
    c.watch.enabled = true;
    c.watch.interval = interval;
    c.watch.jitter = 0ms;
    c.timeouts.connect = 1s;
    c.timeouts.request = 1s;
    for (auto& [n, img] : runtimes)
        c.runtimes.push_back(test::rt(n, img));
    return c;
}

// Ends a test cleanly: soft-stops the watcher and waits until no task and no refresh is left, so
// nothing runs against the rig after it is destroyed.
awaitable<void> drain(rig& r)
{
    r.w->stop();
    bool drained = co_await eventually([&] { return r.w->tasks() == 0 && !r.queue.busy() && !r.svc.busy(); }, 10s);
    REQUIRE(drained);
}

}  // namespace

TEST_CASE("a black-hole registry delays only its own runtime")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry good;
            good.digests = {{"team/a", digest_of('a')}, {"team/b", digest_of('b')}};
            fake_http_server healthy(ioc, good.handler());
            fake_http_server hole(ioc, [](const auto&) { return std::nullopt; });  // accepts, never answers
            rig r(ioc, plain);
            auto cfg = make_config({{"a", healthy.authority() + "/team/a"},
                                    {"dead", hole.authority() + "/team/x"},
                                    {"b", healthy.authority() + "/team/b"}});
            // More dead runtimes than a host's check slots: they must not hold the healthy host back.
            for (int i = 0; i < 40; ++i)
                cfg.runtimes.insert(cfg.runtimes.begin(), test::rt("dead" + std::to_string(i),
                                                                   hole.authority() + "/team/d" + std::to_string(i)));
            r.w->apply(cfg);
            REQUIRE(co_await eventually(
                [&] { return r.st("a").last_result == "seeded" && r.st("b").last_result == "seeded"; }, 3s));
            // Both healthy checks completed while the dead host's request was still waiting for its timeout.
            CHECK(r.st("dead").last_result == "pending");
            // The dead host's own runtimes queue for its 6 connections: ~7 rounds of 2 s timeouts.
            REQUIRE(co_await eventually([&] { return r.st("dead").last_result == "error"; }, 30s));
            CHECK(r.st("dead").last_error->find("no answer") != std::string::npos);
            CHECK(r.st("a").digest == digest_of('a'));
            co_await drain(r);
            healthy.stop();
            hole.stop();
        },
        45s);
}

TEST_CASE("a host answering 500 fails only its runtimes, and recovers")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry good, bad;
            good.digests = {{"team/a", digest_of('a')}};
            bad.digests = {{"team/z", digest_of('e')}};
            bad.status = 500;
            fake_http_server g(ioc, good.handler());
            fake_http_server b(ioc, bad.handler());
            rig r(ioc, plain);
            r.w->apply(make_config({{"a", g.authority() + "/team/a"}, {"z", b.authority() + "/team/z"}}));
            REQUIRE(co_await eventually([&] { return r.st("z").last_result == "error"; }, 3s));
            CHECK(r.st("a").last_result == "seeded");
            bad.status = 200;  // backoff: 1 s after the first failure
            REQUIRE(co_await eventually([&] { return r.st("z").last_result == "seeded"; }, 4s));
            CHECK_FALSE(r.st("z").last_error);
            co_await drain(r);
            g.stop();
            b.stop();
        },
        15s);
}

TEST_CASE("runtimes with the same image share one registry request")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry good;
            good.digests = {{"team/a", digest_of('a')}};
            fake_http_server g(ioc, good.handler());
            rig r(ioc, plain);
            r.w->apply(make_config({{"a1", g.authority() + "/team/a"},
                                    {"a2", g.authority() + "/team/a"},
                                    {"a3", g.authority() + "/team/a:latest"}}));
            REQUIRE(co_await eventually(
                [&] {
                    return r.st("a1").last_result == "seeded" && r.st("a2").last_result == "seeded" &&
                           r.st("a3").last_result == "seeded";
                },
                3s));
            CHECK(good.heads.size() == 1);
            co_await drain(r);
            g.stop();
        },
        10s);
}

TEST_CASE("429 with Retry-After: no request to that host before it passes")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry limited;
            limited.digests = {{"team/a", digest_of('a')}};
            limited.status = 429;
            limited.retry_after = "2";
            fake_http_server s(ioc, limited.handler());
            rig r(ioc, plain);
            r.w->apply(make_config({{"a", s.authority() + "/team/a"}}, 100ms));
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "error"; }, 3s));
            limited.status = 200;
            limited.retry_after.clear();
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "seeded"; }, 5s));
            REQUIRE(limited.heads.size() >= 2);
            CHECK(limited.heads[1] - limited.heads[0] >= 1900ms);
            co_await drain(r);
            s.stop();
        },
        15s);
}

TEST_CASE("a moved digest refreshes with recreate; a failed pull rolls back and is retried")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry reg;
            reg.digests = {{"team/a", digest_of('1')}};
            fake_http_server s(ioc, reg.handler());
            rig r(ioc, plain);
            const std::string image = s.authority() + "/team/a:latest";
            // The local image carries the registry digest: current, so the first check only seeds.
            auto old_id = r.add_workspace(image, digest_of('1'));
            r.w->apply(make_config({{"a", image}}, 150ms));
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "seeded"; }, 3s));
            CHECK(r.st("a").containers == 1);

            // The tag moves but the pull fails: the recorded digest rolls back, the next check retries.
            reg.digests["team/a"] = digest_of('2');
            r.docker.failing_pulls.insert(parse_image_ref(image).value().str());
            REQUIRE(co_await eventually([&] { return r.docker.calls["pull"] >= 2; }, 3s));
            CHECK(r.st("a").last_error);
            CHECK(r.docker.by_name("ws-a")->at("Id").as_string() == old_id);

            // Fixed: the next check applies it.
            r.docker.failing_pulls.clear();
            r.docker.next_image(image, {});
            REQUIRE(co_await eventually([&] { return r.docker.by_name("ws-a")->at("Id").as_string() != old_id; }, 3s));
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "unchanged"; }, 3s));
            CHECK_FALSE(r.st("a").last_error);
            co_await drain(r);
            s.stop();
        },
        15s);
}

TEST_CASE("apply_on_start: containers on an old digest are refreshed at the first check")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry reg;
            reg.digests = {{"team/a", digest_of('2')}};
            fake_http_server s(ioc, reg.handler());
            rig r(ioc, plain);
            const std::string image = s.authority() + "/team/a:latest";
            auto old_id = r.add_workspace(image, digest_of('1'));
            r.docker.next_image(image, {});
            r.w->apply(make_config({{"a", image}}));
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "changed"; }, 3s));
            REQUIRE(co_await eventually([&] { return r.docker.by_name("ws-a")->at("Id").as_string() != old_id; }, 3s));
            co_await drain(r);
            s.stop();
        },
        10s);
}

TEST_CASE("apply(): removed runtimes stop, added ones start, unchanged ones keep their state")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry reg;
            reg.digests = {{"team/a", digest_of('a')}, {"team/b", digest_of('b')}};
            fake_http_server s(ioc, reg.handler());
            rig r(ioc, plain);
            r.w->apply(make_config({{"a", s.authority() + "/team/a"}}));
            REQUIRE(co_await eventually([&] { return r.st("a").last_result == "seeded"; }, 3s));
            CHECK(r.w->tasks() == 1);
            r.w->apply(make_config({{"a", s.authority() + "/team/a"}, {"b", s.authority() + "/team/b"}}));
            REQUIRE(co_await eventually([&] { return r.st("b").last_result == "seeded"; }, 3s));
            CHECK(r.st("a").last_result == "seeded");
            CHECK(r.w->tasks() == 2);
            r.w->apply(make_config({{"b", s.authority() + "/team/b"}}));
            REQUIRE(co_await eventually([&] { return r.w->tasks() == 1; }, 3s));
            CHECK(r.w->status().size() == 1);
            co_await drain(r);
            REQUIRE(co_await eventually([&] { return r.w->tasks() == 0; }, 3s));
            s.stop();
        },
        10s);
}

TEST_CASE("each runtime is checked every interval; several triggers before its check give one check")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry reg;
            reg.digests = {{"team/p", digest_of('c')}};
            fake_http_server s(ioc, reg.handler());
            rig r(ioc, plain);
            auto checks = [](const std::string& name) {
                auto& m = metrics::global();
                return m.value("imagewatch_checks_total", {{"runtime", name}, {"result", "seeded"}}) +
                       m.value("imagewatch_checks_total", {{"runtime", name}, {"result", "unchanged"}});
            };
            r.w->apply(
                make_config({{"sched-p1", s.authority() + "/team/p"}, {"sched-p2", s.authority() + "/team/p"}}, 200ms));
            REQUIRE(co_await eventually([&] { return checks("sched-p1") >= 1 && checks("sched-p2") >= 1; }, 3s));
            const auto t0 = steady::now();
            const double a0 = checks("sched-p1");
            const double b0 = checks("sched-p2");
            co_await sleep_for(1050ms);
            const double rounds = std::chrono::duration<double>(steady::now() - t0).count() / 0.2;
            // About one check per interval each (the shared result may answer the second runtime).
            CHECK(checks("sched-p1") - a0 >= rounds - 2);
            CHECK(checks("sched-p1") - a0 <= rounds + 1);
            CHECK(checks("sched-p2") - b0 >= rounds - 2);
            CHECK(r.st("sched-p1").next_check.has_value());

            // Several triggers before the check starts: one check, not one each.
            r.w->apply(make_config({{"sched-p1", s.authority() + "/team/p"}}, 1h));
            REQUIRE(co_await eventually([&] { return r.w->tasks() == 1; }, 3s));
            co_await sleep_for(300ms);  // any check begun under the old interval has ended
            const double c0 = checks("sched-p1");
            CHECK(r.w->trigger("sched-p1"));
            CHECK(r.w->trigger("sched-p1"));
            CHECK(r.w->trigger("sched-p1"));
            REQUIRE(co_await eventually([&] { return checks("sched-p1") >= c0 + 1; }, 3s));
            co_await sleep_for(300ms);
            CHECK(checks("sched-p1") == c0 + 1);
            CHECK_FALSE(r.w->trigger("no-such-runtime"));
            co_await drain(r);
            CHECK_FALSE(r.st("sched-p1").next_check.has_value());
            s.stop();
        },
        15s);
}

TEST_CASE("watch disabled: no scheduled checks, a trigger still checks once")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            digest_registry reg;
            reg.digests = {{"team/q", digest_of('d')}};
            fake_http_server s(ioc, reg.handler());
            rig r(ioc, plain);
            auto cfg = make_config({{"off-q", s.authority() + "/team/q"}}, 100ms);
            cfg.watch.enabled = false;
            r.w->apply(cfg);
            co_await sleep_for(400ms);
            CHECK(reg.heads.empty());
            CHECK(r.st("off-q").last_result == "pending");
            CHECK_FALSE(r.st("off-q").next_check.has_value());
            CHECK(r.w->tasks() == 1);
            CHECK(r.w->trigger("off-q"));
            REQUIRE(co_await eventually([&] { return r.st("off-q").last_result == "seeded"; }, 3s));
            co_await sleep_for(400ms);
            CHECK(reg.heads.size() == 1);
            CHECK_FALSE(r.st("off-q").next_check.has_value());

            cfg.watch.enabled = true;  // enabled again: checked at once, then every interval
            r.w->apply(cfg);
            REQUIRE(co_await eventually([&] { return reg.heads.size() >= 3; }, 3s));
            CHECK(r.st("off-q").next_check.has_value());
            co_await drain(r);
            s.stop();
        },
        15s);
}
