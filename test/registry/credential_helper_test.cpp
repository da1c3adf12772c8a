// Docker credential helpers: a fake `docker-credential-iwtest` shell script in a temp dir put on
// PATH for the test only. Runs the real process machinery (posix_spawnp, socket pair, timeout kill).
#include "registry/client.hpp"
#include "registry/credentials.hpp"

#include "support/run_coro.hpp"

#include "client_fixtures.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace imagewatch::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// What the fake helper does depends on the server URL it reads from stdin.
constexpr const char* helper_script = R"(#!/bin/sh
url=$(cat)
dir=$(dirname "$0")
echo "$url" >> "$dir/runs"
case "$url" in
  *hang*) echo $$ > "$dir/pid"; exec sleep 30 ;;
  *missing*) echo "credentials not found in native keychain"; exit 1 ;;
  *broken*) echo "gpg: decryption failed: No secret key"; echo "second line"; exit 3 ;;
  *garbage*) echo "Username=admin Secret=hunter2"; exit 0 ;;
  *token*) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$url" ;;
  *) printf '{"ServerURL":"%s","Username":"admin","Secret":"secret"}' "$url" ;;
esac
)";

// A temp dir holding the fake helper, on PATH until the end of the test.
struct helper_on_path
{
    fs::path dir;
    std::string saved_path;

    helper_on_path()
    {
        std::random_device rd;
        dir = fs::temp_directory_path() / ("iw-helper-test-" + std::to_string(rd()));
        fs::create_directories(dir);
        auto script = dir / "docker-credential-iwtest";
        std::ofstream(script) << helper_script;
        fs::permissions(script, fs::perms::owner_all);
        const char* p = std::getenv("PATH");
        saved_path = p ? p : "";
        ::setenv("PATH", (dir.string() + ":" + saved_path).c_str(), 1);
    }
    ~helper_on_path()
    {
        ::setenv("PATH", saved_path.c_str(), 1);
        fs::remove_all(dir);
    }
    helper_on_path(const helper_on_path&) = delete;
    helper_on_path& operator=(const helper_on_path&) = delete;

    // Server URLs the helper was asked for, in order.
    std::vector<std::string> runs() const
    {
        std::vector<std::string> out;
        std::ifstream in(dir / "runs");
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }
};

credential_helper iwtest(std::string server_url)
{
    return credential_helper{"docker-credential-iwtest", std::move(server_url), "credHelpers in docker config /x"};
}

}  // namespace

TEST_CASE("helper output: username and secret; <token> is an identity token; no secret in errors")
{
    auto c = parse_helper_output(R"({"ServerURL":"h","Username":"u","Secret":"s"})", "src");
    REQUIRE(c.has_value());
    CHECK(c->username == "u");
    CHECK(c->password == "s");
    CHECK(c->source == "src");
    CHECK_FALSE(c->identity_token);

    c = parse_helper_output(R"({"Username":"<token>","Secret":"rt"})", "src");
    REQUIRE(c.has_value());
    CHECK(c->identity_token);
    CHECK(c->username.empty());
    CHECK(c->password == "rt");

    for (const char* bad : {"", "Secret=hunter2", R"({"Username":"u"})", R"({"Username":"u","Secret":""})"})
    {
        CAPTURE(bad);
        auto r = parse_helper_output(bad, "src");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::bad_response);
        CHECK(r.error().message.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("helper: run with the server URL on stdin; answers, not-found and failures")
{
    helper_on_path h;
    test::run_coro([&h](asio::io_context&) -> awaitable<void> {
        auto r = co_await run_credential_helper(iwtest("registry.test:5443"), 5s);
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        REQUIRE(r->has_value());
        CHECK((*r)->username == "admin");
        CHECK((*r)->password == "secret");
        CHECK((*r)->source == "docker-credential-iwtest (credHelpers in docker config /x)");
        CHECK(h.runs() == std::vector<std::string>{"registry.test:5443"});

        r = co_await run_credential_helper(iwtest("token.example"), 5s);
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        REQUIRE(r->has_value());
        CHECK((*r)->identity_token);

        // Nothing stored for that server: no credentials, no error.
        r = co_await run_credential_helper(iwtest("missing.example"), 5s);
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK_FALSE(r->has_value());

        r = co_await run_credential_helper(iwtest("broken.example"), 5s);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::failed);
        CHECK(r.error().message == "credential helper docker-credential-iwtest (credHelpers in docker config /x) "
                                   "failed: exit status 3: gpg: decryption failed: No secret key");

        r = co_await run_credential_helper(iwtest("garbage.example"), 5s);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::bad_response);
        CHECK(r.error().message.find("hunter2") == std::string::npos);

        // Named: GCC 12 double-destroys braced temporaries inside co_await expressions.
        credential_helper absent{"docker-credential-iw-no-such", "x", "credsStore"};
        r = co_await run_credential_helper(absent, 5s);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::failed);
        CHECK(r.error().message == "credential helper docker-credential-iw-no-such (credsStore): not found in PATH");
    });
}

TEST_CASE("helper: a helper that hangs is killed at the timeout")
{
    helper_on_path h;
    auto start = std::chrono::steady_clock::now();
    test::run_coro([](asio::io_context&) -> awaitable<void> {
        auto r = co_await run_credential_helper(iwtest("hang.example"), 200ms);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::timed_out);
        CHECK(r.error().message == "credential helper docker-credential-iwtest: no answer within 200ms");
    });
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    int pid = 0;
    std::ifstream(h.dir / "pid") >> pid;
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) == -1);  // killed and reaped: no such process
    CHECK(errno == ESRCH);
}

TEST_CASE("helper: resolve_credentials_async runs the helper the docker config names")
{
    helper_on_path h;
    auto cfg_path = h.dir / "config.json";
    std::ofstream(cfg_path) << R"({"credHelpers":{"registry.test:5443":"iwtest","broken.example":"iwtest"}})";
    config::config cfg;
    cfg.docker_config = cfg_path.string();
    log_capture logs;
    test::run_coro([&cfg](asio::io_context&) -> awaitable<void> {
        auto c = co_await resolve_credentials_async(cfg, "registry.test:5443", process_env());
        REQUIRE(c.has_value());
        CHECK(c->username == "admin");
        CHECK(c->source == "docker-credential-iwtest (credHelpers in docker config " + cfg.docker_config + ")");

        // A failing helper is a warning and anonymous access.
        c = co_await resolve_credentials_async(cfg, "broken.example", process_env());
        CHECK_FALSE(c.has_value());
    });
    CHECK(logs.text.find("credential helper failed") != std::string::npos);
    CHECK(logs.text.find("exit status 3") != std::string::npos);
}

TEST_CASE("client + helper: the helper runs only when a token is needed, its credentials go to the realm")
{
    helper_on_path h;
    test::run_coro([&h](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        reg.require_basic = true;  // admin:secret, which the helper answers for 127.0.0.1:*
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";
        auto s = insecure_settings();
        s.host_options_for = [host = server.authority()](std::string_view) {
            host_options o{"", true, std::nullopt};
            o.helper = credential_helper{"docker-credential-iwtest", host, "credsStore in docker config /x"};
            return o;
        };
        auto c = make_client(ioc.get_executor(), s);

        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(server.requests()[1]["Authorization"] == "Basic YWRtaW46c2VjcmV0");
        CHECK(h.runs().size() == 1);

        // Warm token: no helper run.
        r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(h.runs().size() == 1);
    });
}

TEST_CASE("client + helper: a failing helper is named when the registry then refuses")
{
    helper_on_path h;
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        reg.require_basic = true;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";
        auto s = insecure_settings();
        s.host_options_for = [](std::string_view) {
            host_options o{"", true, std::nullopt};
            o.helper =
                credential_helper{"docker-credential-iwtest", "broken.example", "credsStore in docker config /x"};
            return o;
        };
        auto c = make_client(ioc.get_executor(), s);
        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unauthorized);
        CHECK(r.error().message.find("to an anonymous request (credential helper docker-credential-iwtest") !=
              std::string::npos);
        CHECK(r.error().message.find("exit status 3") != std::string::npos);
    });
}

TEST_CASE("client + helper: an identity token is traded at the realm with the OAuth2 refresh_token POST")
{
    helper_on_path h;
    log_capture logs;
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        int posts = 0;
        auto handler = [&posts](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            if (req.target == "/token")
            {
                bool ok = req.method == "POST" && req["Content-Type"] == "application/x-www-form-urlencoded" &&
                          req.body.find("grant_type=refresh_token") != std::string::npos &&
                          req.body.find("refresh_token=refresh-123") != std::string::npos &&
                          req.body.find("scope=repository:test/app:pull") != std::string::npos &&
                          req["Authorization"].empty();
                ++posts;
                if (!ok)
                    return make_response(400);
                return make_response(200, {}, R"({"access_token":"oauth-tok","expires_in":300})");
            }
            if (req["Authorization"] == "Bearer oauth-tok")
                return head_ok(digest_a);
            return make_response(401, {{"WWW-Authenticate", R"(Bearer realm="REALM",service="fake")"}});
        };
        fake_http_server server(ioc, [&](const fake_http_server::request& req) {
            auto res = handler(req);
            if (res && res->fields.has("WWW-Authenticate"))
                res->set("WWW-Authenticate", "Bearer realm=\"http://" + req["Host"] + "/token\",service=\"fake\"");
            return res;
        });
        auto s = insecure_settings();
        s.host_options_for = [](std::string_view) {
            host_options o{"", true, std::nullopt};
            o.helper = credential_helper{"docker-credential-iwtest", "token.example", "credsStore in docker config /x"};
            return o;
        };
        auto c = make_client(ioc.get_executor(), s);
        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(posts == 1);
        CHECK(server.requests()[1].method == "POST");
    });
    CHECK(logs.text.find("refresh-123") == std::string::npos);
    CHECK(logs.text.find("oauth-tok") == std::string::npos);
}
