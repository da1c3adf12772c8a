// The admin contract of docs/http-api.md on values: auth fail-closed, status codes, query parsing.
#include "admin/auth.hpp"
#include "admin/routes.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"
#include "hooks/signature.hpp"
#include "support/fake_admin_backend.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"
#include "support/test_data.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace imagewatch;
using namespace imagewatch::admin;

namespace {

using fake_backend = test::fake_admin_backend;

response call(fake_backend& b, std::string method, std::string target, std::string auth = "Bearer s3cret")
{
    response out;
    test::run_coro([&](asio::io_context&) -> awaitable<void> {
        // A named request: GCC 12 double-destroys braced temporaries inside co_await expressions.
        request req{method, target, auth};
        out = co_await handle(std::move(req), b);
    });
    return out;
}

response call(fake_backend& b, request req)
{
    response out;
    test::run_coro([&](asio::io_context&) -> awaitable<void> { out = co_await handle(std::move(req), b); });
    return out;
}

using test::rt;

std::string hook_data(const std::string& name) { return test::test_data("hooks/" + name); }

// A backend with both hooks configured and runtimes matching the recorded payloads.
fake_backend hooks_backend()
{
    fake_backend b;
    b.secrets[hook_kind::github] = "gh-secret";
    b.secrets[hook_kind::registry] = "reg-token";
    b.rts = {rt("hermes", "ghcr.io/molecule-ai/workspace-template-hermes:latest"),
             rt("app", "registry.test:5443/team/app:stable"), rt("web", "registry.test:5443/team/web:latest")};
    return b;
}

request github_delivery(std::string body, std::string signature, std::string event = "registry_package")
{
    request r{"POST", "/hooks/github", ""};
    r.body = std::move(body);
    r.hub_signature = std::move(signature);
    r.github_event = std::move(event);
    r.content_type = "application/json";
    return r;
}

request registry_delivery(std::string body, std::string authorization)
{
    request r{"POST", "/hooks/registry", std::move(authorization)};
    r.body = std::move(body);
    r.content_type = "application/vnd.docker.distribution.events.v1+json";
    return r;
}

}  // namespace

TEST_CASE("refresh: all runtimes by default, recreate on")
{
    fake_backend b;
    auto r = call(b, "POST", "/admin/workspace-images/refresh");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"pulled":["claude-code"],"failed":[],"recreated":[],"skipped":[],"errors":[]})");
    REQUIRE(b.calls.size() == 1);
    CHECK_FALSE(b.calls[0].first);
    CHECK(b.calls[0].second);
}

TEST_CASE("refresh: runtime and recreate query parsing (strict booleans, empty runtime = all)")
{
    fake_backend b;
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?runtime=hermes&recreate=0").status == 200);
    CHECK(*b.calls.back().first == "hermes");
    CHECK_FALSE(b.calls.back().second);
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?runtime=&recreate=1").status == 200);
    CHECK_FALSE(b.calls.back().first);
    CHECK(b.calls.back().second);
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?recreate=false").status == 200);
    CHECK_FALSE(b.calls.back().second);
    for (auto bad : {"yes", "TRUE", "", "2"})
    {
        auto r = call(b, "POST", std::string("/admin/workspace-images/refresh?recreate=") + bad);
        CHECK(r.status == 400);
    }
    CHECK(b.calls.size() == 3);
}

TEST_CASE("refresh: force is off unless asked, strict boolean")
{
    fake_backend b;
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?runtime=hermes").status == 200);
    CHECK_FALSE(b.forces.back());
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?runtime=hermes&force=true").status == 200);
    CHECK(b.forces.back());
    CHECK(call(b, "POST", "/admin/workspace-images/refresh?force=0").status == 200);
    CHECK_FALSE(b.forces.back());
    auto r = call(b, "POST", "/admin/workspace-images/refresh?force=please");
    CHECK(r.status == 400);
    CHECK(r.body.find("invalid force value") != std::string::npos);
    CHECK(b.calls.size() == 3);
}

TEST_CASE("refresh: unknown runtime is a 400 listing the known ones, nothing runs")
{
    fake_backend b;
    auto r = call(b, "POST", "/admin/workspace-images/refresh?runtime=claud-code");
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"unknown runtime: claud-code","known_runtimes":["claude-code","hermes"]})");
    CHECK(b.calls.empty());
}

TEST_CASE("refresh: a failed container listing is a 500 with the partial result")
{
    fake_backend b;
    b.fatal = "container list: cannot reach the Docker daemon";
    auto r = call(b, "POST", "/admin/workspace-images/refresh");
    CHECK(r.status == 500);
    CHECK(r.body.starts_with(
        R"({"error":"container list: cannot reach the Docker daemon","partial_result":{"pulled":["claude-code"])"));
}

TEST_CASE("auth: fail closed, missing and wrong tokens")
{
    fake_backend b;
    CHECK(call(b, "POST", "/admin/workspace-images/refresh", "").body == R"({"error":"admin auth required"})");
    CHECK(call(b, "POST", "/admin/workspace-images/refresh", "").status == 401);
    auto wrong = call(b, "POST", "/admin/workspace-images/refresh", "Bearer nope");
    CHECK(wrong.status == 401);
    CHECK(wrong.body == R"({"error":"invalid admin auth token"})");
    CHECK(call(b, "GET", "/admin/status", "Basic czNjcmV0").status == 401);
    CHECK(call(b, "GET", "/admin/status", "bearer s3cret").status == 200);
    b.token.reset();
    auto closed = call(b, "POST", "/admin/workspace-images/refresh", "Bearer s3cret");
    CHECK(closed.status == 503);
    CHECK(closed.body == R"({"error":"admin token not configured"})");
    b.token = "";
    CHECK(call(b, "GET", "/admin/status").status == 503);
    CHECK(b.calls.empty());
}

TEST_CASE("methods, unknown paths, health, readiness, metrics")
{
    fake_backend b;
    CHECK(call(b, "GET", "/admin/workspace-images/refresh").status == 405);
    CHECK(call(b, "POST", "/admin/status").status == 405);
    CHECK(call(b, "GET", "/admin/nope").status == 404);
    CHECK(call(b, "GET", "/nope", "").status == 404);
    auto h = call(b, "GET", "/healthz", "");
    CHECK(h.status == 200);
    CHECK(h.body == "ok\n");
    CHECK(call(b, "POST", "/healthz", "").status == 405);
    auto r = call(b, "GET", "/readyz", "");
    CHECK(r.status == 503);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"ready":false,"reason":"docker: cannot reach the Docker daemon at unix:///x.sock"})");
    CHECK(call(b, "GET", "/metrics", "").status == 200);
    b.public_metrics = false;
    CHECK(call(b, "GET", "/metrics", "").status == 401);
    CHECK(call(b, "GET", "/metrics").status == 200);
}

TEST_CASE("constant_time_equal")
{
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "abcd"));
    CHECK_FALSE(constant_time_equal("abcd", "abc"));
    CHECK_FALSE(constant_time_equal("", "a"));
    CHECK(constant_time_equal("", ""));
}

TEST_CASE("token comparison runs over fixed-size SHA-256 digests, whatever the lengths")
{
    const auto hex = [](const token_digest_t& d) { return hex_lower(d.data(), d.size()); };
    // Known SHA-256 vectors: the digest is the real hash, not a padded copy of the input.
    CHECK(hex(token_digest("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(token_digest("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Inputs of any length reduce to the same 32 bytes, so the comparison itself never depends on
    // how long the configured token or the guess is.
    const std::string long_token(4096, 'x');
    for (std::string_view guess : {"", "x", "xx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
    {
        CHECK(constant_time_equal(guess, long_token) == digests_equal(token_digest(guess), token_digest(long_token)));
        CHECK_FALSE(constant_time_equal(guess, long_token));
    }
    CHECK(digests_equal(token_digest(long_token), token_digest(std::string(4096, 'x'))));
    CHECK(constant_time_equal(long_token, std::string(4096, 'x')));
}

TEST_CASE("hooks: GitHub delivery with a valid signature schedules the matching runtime (202)")
{
    auto b = hooks_backend();
    const auto body = hook_data("github_registry_package_published.json");
    auto r = call(b, github_delivery(body, hooks::github_signature(body, "gh-secret")));
    CHECK(r.status == 202);
    CHECK(r.body == R"({"scheduled":["hermes"]})");
    REQUIRE(b.scheduled.size() == 1);
    CHECK(b.scheduled[0] == std::vector<std::string>{"hermes"});
    CHECK(b.calls.empty());  // a check is scheduled, not a refresh run inline
}

TEST_CASE("hooks: GitHub bad or missing signature is a 401 and schedules nothing")
{
    auto b = hooks_backend();
    const auto body = hook_data("github_registry_package_published.json");
    const double before =
        metrics::global().value("imagewatch_webhooks_total", {{"hook", "github"}, {"result", "unauthorized"}});
    auto missing = call(b, github_delivery(body, ""));
    CHECK(missing.status == 401);
    CHECK(missing.body == R"({"error":"missing X-Hub-Signature-256"})");
    auto wrong_secret = call(b, github_delivery(body, hooks::github_signature(body, "other")));
    CHECK(wrong_secret.status == 401);
    CHECK(wrong_secret.body == R"({"error":"invalid X-Hub-Signature-256"})");
    // A signature of another body (replayed header on a tampered payload).
    CHECK(call(b, github_delivery(body + " ", hooks::github_signature(body, "gh-secret"))).status == 401);
    // The admin token is no substitute for the signature.
    auto admin = github_delivery(body, "");
    admin.authorization = "Bearer s3cret";
    CHECK(call(b, admin).status == 401);
    CHECK(b.scheduled.empty());
    CHECK(metrics::global().value("imagewatch_webhooks_total", {{"hook", "github"}, {"result", "unauthorized"}}) ==
          before + 4);
}

TEST_CASE("hooks: ping and non-matching deliveries are accepted with nothing scheduled")
{
    auto b = hooks_backend();
    const std::string ping = R"({"zen":"Design for failure.","hook_id":42})";
    auto r = call(b, github_delivery(ping, hooks::github_signature(ping, "gh-secret"), "ping"));
    CHECK(r.status == 202);
    CHECK(r.body == R"({"scheduled":[]})");
    const auto other = hook_data("github_package_updated.json");  // claude-code: not configured here
    CHECK(call(b, github_delivery(other, hooks::github_signature(other, "gh-secret"), "package")).body ==
          R"({"scheduled":[]})");
    CHECK(b.scheduled.empty());
    const std::string junk = "{not json";
    auto bad = call(b, github_delivery(junk, hooks::github_signature(junk, "gh-secret"), "package"));
    CHECK(bad.status == 400);
    CHECK(b.scheduled.empty());
}

TEST_CASE("hooks: registry envelope with the bearer token schedules the matching runtime (202)")
{
    auto b = hooks_backend();
    auto r = call(b, registry_delivery(hook_data("distribution_push.json"), "Bearer reg-token"));
    CHECK(r.status == 202);
    CHECK(r.body == R"({"scheduled":["app"]})");  // web: only pulled / pushed without a tag
    REQUIRE(b.scheduled.size() == 1);
    CHECK(b.scheduled[0] == std::vector<std::string>{"app"});
    // The pushed digest goes along, so the check can be repeated until the registry serves it.
    CHECK(b.digests ==
          std::vector<std::string>{"sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"});
}

TEST_CASE("hooks: registry missing or wrong token is a 401 and schedules nothing")
{
    auto b = hooks_backend();
    const auto body = hook_data("distribution_push.json");
    auto missing = call(b, registry_delivery(body, ""));
    CHECK(missing.status == 401);
    CHECK(missing.body == R"({"error":"hook auth required"})");
    auto wrong = call(b, registry_delivery(body, "Bearer reg-tokeN"));
    CHECK(wrong.status == 401);
    CHECK(wrong.body == R"({"error":"invalid hook token"})");
    CHECK(call(b, registry_delivery(body, "Bearer s3cret")).status == 401);  // the admin token is not the hook token
    CHECK(call(b, registry_delivery(body, "Basic cmVnLXRva2Vu")).status == 401);
    CHECK(b.scheduled.empty());
    CHECK(call(b, registry_delivery("[]", "Bearer reg-token")).status == 400);
    CHECK(b.scheduled.empty());
}

TEST_CASE("hooks: only runtimes whose watch task runs are reported as scheduled")
{
    auto b = hooks_backend();
    b.rts.push_back(rt("app-twin", "registry.test:5443/team/app:stable"));
    b.not_running = {"app"};
    auto r = call(b, registry_delivery(hook_data("distribution_push.json"), "Bearer reg-token"));
    CHECK(r.status == 202);
    CHECK(r.body == R"({"scheduled":["app-twin"]})");
    CHECK(b.scheduled.at(0) == std::vector<std::string>{"app", "app-twin"});
}

TEST_CASE("hooks: not configured -> 404 as if the route did not exist; configured -> POST only")
{
    auto b = hooks_backend();
    const auto body = hook_data("distribution_push.json");
    b.secrets[hook_kind::registry] = std::nullopt;
    b.secrets[hook_kind::github] = "";
    auto r = call(b, registry_delivery(body, "Bearer reg-token"));
    CHECK(r.status == 404);
    CHECK(r.body == call(b, "POST", "/hooks/nope", "").body);
    CHECK(call(b, github_delivery(body, hooks::github_signature(body, ""))).status == 404);
    CHECK(call(b, "GET", "/hooks/registry", "").status == 404);
    CHECK(b.scheduled.empty());

    b = hooks_backend();
    CHECK(call(b, "GET", "/hooks/registry", "Bearer reg-token").status == 405);
    CHECK(call(b, "GET", "/hooks/github", "").status == 405);
    // The hooks do not depend on the admin token being configured.
    b.token.reset();
    CHECK(call(b, registry_delivery(body, "Bearer reg-token")).status == 202);
}

TEST_CASE("hooks: a backend without hook support answers 404 (default backend methods)")
{
    struct minimal : backend
    {
        std::optional<std::string> admin_token() override { return "t"; }
        bool metrics_public() override { return true; }
        std::vector<std::string> runtime_names() override { return {}; }
        awaitable<refresh::outcome> refresh(std::optional<std::string>, bool, bool) override
        {
            co_return refresh::outcome{};
        }
        awaitable<std::string> status_json() override { co_return "{}"; }
        bool ready() override { return true; }
        std::string metrics_text() override { return ""; }
    } m;
    response out;
    test::run_coro([&](asio::io_context&) -> awaitable<void> {
        request req{"POST", "/hooks/registry", "Bearer t"};
        out = co_await handle(std::move(req), m);
    });
    CHECK(out.status == 404);
}

TEST_CASE("unknown runtime with non-UTF-8 bytes: the echo stays valid JSON text")
{
    fake_backend b;
    auto r = call(b, "POST", "/admin/workspace-images/refresh?runtime=claud%D2code");
    CHECK(r.status == 400);
    CHECK(r.body.find("unknown runtime: claud\\\\xd2code") != std::string::npos);
    for (char c : r.body)
        CHECK(static_cast<unsigned char>(c) < 0x80);
}
