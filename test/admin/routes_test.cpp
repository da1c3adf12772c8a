// The admin contract of SPEC §5 on values: auth fail-closed, status codes, query parsing.
#include "admin/auth.hpp"
#include "admin/routes.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::admin;

namespace {

struct fake_backend : backend
{
    std::optional<std::string> token = "s3cret";
    bool public_metrics = true;
    std::vector<std::string> names{"claude-code", "hermes"};
    std::vector<std::pair<std::optional<std::string>, bool>> calls;
    bool fatal = false;

    std::optional<std::string> admin_token() override { return token; }
    bool metrics_public() override { return public_metrics; }
    std::vector<std::string> runtime_names() override { return names; }
    awaitable<refresh::outcome> refresh(std::optional<std::string> rt, bool recreate) override
    {
        calls.emplace_back(rt, recreate);
        refresh::outcome o;
        o.result.pulled = {"claude-code"};
        if (fatal)
            o.fatal = "container list: cannot reach the Docker daemon";
        co_return o;
    }
    std::string status_json() override { return "{}"; }
    bool ready() override { return false; }
    std::string metrics_text() override { return "m 1\n"; }
};

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
    b.fatal = true;
    auto r = call(b, "POST", "/admin/workspace-images/refresh");
    CHECK(r.status == 500);
    CHECK(r.body.starts_with(R"({"error":"container list: cannot reach the Docker daemon","partial_result":{"pulled":["claude-code"])"));
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
    CHECK(call(b, "GET", "/readyz", "").status == 503);
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
