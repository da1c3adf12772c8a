// The daemon's admin backend behind the real routes, on values: what a refresh POST hands the
// refresh queue, the documented unknown-runtime error, the status body, the token sources.
#include "daemon/admin_backend.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <map>

using namespace imagewatch;
using namespace imagewatch::daemon;

namespace {

struct queued
{
    std::vector<std::string> runtimes;
    refresh::request rq;
};

// A backend over a two-runtime config whose ports record what they are asked.
struct fixture
{
    config::config cfg;
    readiness ready;
    std::map<std::string, std::string> env{{"ADMIN_TOKEN", "s3cret"}};
    std::vector<queued> refreshes;
    status_snapshot snapshot;
    std::vector<std::vector<hooks::check_request>> checks;
    admin_backend backend{cfg, ready, ports(), [this](std::string_view n) -> std::optional<std::string> {
                              auto it = env.find(std::string(n));
                              return it == env.end() ? std::nullopt : std::optional(it->second);
                          }};

    fixture()
    {
        cfg.runtimes = {test::rt("claude-code", "ghcr.io/o/claude:1"), test::rt("hermes", "ghcr.io/o/hermes:2")};
    }

    admin_ports ports()
    {
        admin_ports p;
        p.refresh = [this](std::vector<config::runtime> rts, refresh::request rq) -> awaitable<refresh::outcome> {
            queued q{{}, rq};
            for (const auto& r : rts)
                q.runtimes.push_back(r.name);
            refreshes.push_back(q);
            refresh::outcome o;
            o.result.pulled = q.runtimes;
            co_return o;
        };
        p.status = [this]() -> awaitable<status_snapshot> { co_return snapshot; };
        p.schedule_checks = [this](std::vector<hooks::check_request> c) {
            checks.push_back(c);
            return std::vector<std::string>{"hermes"};
        };
        return p;
    }

    admin::response call(std::string method, std::string target, std::string auth = "Bearer s3cret")
    {
        admin::response out;
        test::run_coro([&](asio::io_context&) -> awaitable<void> {
            admin::request req{method, target, auth};  // named: see routes_test
            out = co_await admin::handle(std::move(req), backend);
        });
        return out;
    }
};

}  // namespace

TEST_CASE("a refresh POST hands the queue the named runtime, forced and pull-only as asked")
{
    fixture f;
    auto r = f.call("POST", "/admin/workspace-images/refresh?runtime=hermes&force=true&recreate=false");
    CHECK(r.status == 200);
    REQUIRE(f.refreshes.size() == 1);
    CHECK(f.refreshes[0].runtimes == std::vector<std::string>{"hermes"});
    CHECK(f.refreshes[0].rq.force);
    CHECK_FALSE(f.refreshes[0].rq.recreate);
    CHECK_FALSE(f.refreshes[0].rq.automatic);  // an operator's request: no rollout window, no min_age
    CHECK(r.body.find(R"("pulled":["hermes"])") != std::string::npos);
}

TEST_CASE("a refresh POST without a runtime covers every runtime in config order, recreating, not forced")
{
    fixture f;
    CHECK(f.call("POST", "/admin/workspace-images/refresh").status == 200);
    REQUIRE(f.refreshes.size() == 1);
    CHECK(f.refreshes[0].runtimes == std::vector<std::string>{"claude-code", "hermes"});
    CHECK_FALSE(f.refreshes[0].rq.force);
    CHECK(f.refreshes[0].rq.recreate);
}

TEST_CASE("an unknown runtime is the documented 400 naming the configured ones; nothing is queued")
{
    fixture f;
    auto r = f.call("POST", "/admin/workspace-images/refresh?runtime=herm");
    CHECK(r.status == 400);
    CHECK(boost::json::parse(r.body) ==
          boost::json::parse(R"({"error":"unknown runtime: herm","known_runtimes":["claude-code","hermes"]})"));
    CHECK(f.refreshes.empty());
    // A reload that adds a runtime is seen by the next request.
    f.cfg.runtimes.push_back(test::rt("herm", "ghcr.io/o/herm:1"));
    CHECK(f.call("POST", "/admin/workspace-images/refresh?runtime=herm").status == 200);
    REQUIRE(f.refreshes.size() == 1);
    CHECK(f.refreshes[0].runtimes == std::vector<std::string>{"herm"});
}

TEST_CASE("GET /admin/status is daemon/status's rendering of the daemon's snapshot")
{
    fixture f;
    f.snapshot.version = "9.9.9";
    f.snapshot.config_path = "/etc/imagewatch/config.json";
    f.snapshot.config_hash = "sha256:abc";
    f.snapshot.last_reload_error = "line 3: bad";
    watch::runtime_status row;
    row.name = "hermes";
    row.image = "ghcr.io/o/hermes:2";
    row.containers = 4;
    f.snapshot.runtimes = {row};
    auto r = f.call("GET", "/admin/status");
    CHECK(r.status == 200);
    CHECK(r.body == render_status(f.snapshot));
    CHECK(r.body.find("9.9.9") != std::string::npos);
}

TEST_CASE("the admin token: admin.token_env, admin.token_file winning over it, neither failing closed")
{
    fixture f;
    CHECK(f.call("GET", "/admin/status").status == 200);
    CHECK(f.call("GET", "/admin/status", "Bearer other").status == 401);

    test::temp_dir dir;
    f.cfg.admin.token_file = dir.write("token", "from-file\n");
    CHECK(f.call("GET", "/admin/status", "Bearer from-file").status == 200);
    CHECK(f.call("GET", "/admin/status").status == 401);
    f.cfg.admin.token_file = dir.path.string();  // a directory: unusable, fail closed
    CHECK_FALSE(f.backend.admin_token());
    CHECK(f.call("GET", "/admin/status", "Bearer from-file").status == 503);

    f.cfg.admin.token_file.clear();
    f.env["ADMIN_TOKEN"] = "";  // set but empty: no token
    CHECK_FALSE(f.backend.admin_token());
    f.cfg.admin.token_env.clear();
    CHECK(f.call("GET", "/admin/status").status == 503);
}

TEST_CASE("webhook secrets come from the named variables at each delivery; checks go to the scheduler")
{
    fixture f;
    CHECK_FALSE(f.backend.hook_secret(admin::hook_kind::github));  // no variable named
    f.cfg.hooks.github_secret_env = "GH_SECRET";
    f.cfg.hooks.registry_token_env = "REG_TOKEN";
    CHECK_FALSE(f.backend.hook_secret(admin::hook_kind::github));  // named but unset
    f.env["GH_SECRET"] = "gh";
    f.env["REG_TOKEN"] = "reg";
    CHECK(f.backend.hook_secret(admin::hook_kind::github) == "gh");
    CHECK(f.backend.hook_secret(admin::hook_kind::registry) == "reg");
    f.env["REG_TOKEN"] = "";
    CHECK_FALSE(f.backend.hook_secret(admin::hook_kind::registry));

    hooks::check_request c;
    c.runtime = "hermes";
    c.digest = "sha256:new";
    CHECK(f.backend.schedule_checks({c}) == std::vector<std::string>{"hermes"});
    REQUIRE(f.checks.size() == 1);
    CHECK(f.checks[0][0].digest == "sha256:new");
}

TEST_CASE("readiness is the daemon's, read at each request")
{
    fixture f;
    CHECK_FALSE(f.backend.ready());
    CHECK(f.backend.not_ready_reason() == "starting");
    f.ready.not_ready("docker: finishing or undoing container swaps an earlier run left");
    CHECK(f.call("GET", "/readyz", "").body.find("finishing or undoing") != std::string::npos);
    f.ready.mark_ready();
    CHECK(f.call("GET", "/readyz", "").status == 200);
}
