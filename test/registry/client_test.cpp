// registry::client against an in-process fake registry (plain HTTP with insecure_http, and TLS with
// the test PKI under test/data/registry/tls) in the test's io_context.
#include "registry/client.hpp"

#include "core/log.hpp"
#include "registry/manifest.hpp"
#include "support/run_coro.hpp"

#include "client_fixtures.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <map>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace std::chrono_literals;
using namespace imagewatch::test;

TEST_CASE("client: 401 Bearer -> anonymous token -> HEAD with the token -> digest; the token is reused")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(d->digest == digest_a);

        auto& rq = server.requests();
        REQUIRE(rq.size() == 3);
        CHECK(rq[0].method == "HEAD");
        CHECK(rq[0].target == "/v2/test/app/manifests/latest");
        CHECK(rq[0]["Authorization"].empty());
        CHECK(rq[0]["Accept"] == manifest_accept);
        CHECK(rq[0]["Host"] == server.authority());
        CHECK(rq[1].method == "GET");
        CHECK(rq[1].target == "/token?service=fake&scope=repository:test/app:pull");
        CHECK(rq[1]["Authorization"].empty());  // anonymous
        CHECK(rq[2].method == "HEAD");
        CHECK(rq[2]["Authorization"] == "Bearer tok-1");
        CHECK(rq[2]["Accept"] == manifest_accept);

        // Warm: the cached token goes out with the first request.
        d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE(d.has_value());
        CHECK(rq.size() == 4);
        CHECK(rq[3]["Authorization"] == "Bearer tok-1");
        CHECK(reg.tokens_issued == 1);

        // A cached token the registry stops accepting is dropped and a new one fetched.
        reg.tokens_issued = 5;  // the registry now wants tok-5; the next /token gives tok-6
        d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(rq.size() == 7);
        CHECK(rq[6]["Authorization"] == "Bearer tok-6");
    });
}

TEST_CASE("client: token request carries Basic credentials; nothing secret is logged")
{
    log_capture logs;
    test::run_coro([&logs](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        reg.require_basic = true;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";
        auto c = make_client(ioc.get_executor(), insecure_settings(credentials{"admin", "secret", "test"}));

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(server.requests()[1]["Authorization"] == "Basic YWRtaW46c2VjcmV0");
        CHECK(logs.text.find("registry request") != std::string::npos);
        CHECK(logs.text.find("tok-1") == std::string::npos);
        CHECK(logs.text.find("YWRtaW46c2VjcmV0") == std::string::npos);
        CHECK(logs.text.find("secret") == std::string::npos);
    });
}

TEST_CASE("client: token server refusing the credentials is unauthorized")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        reg.require_basic = true;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";

        auto anon = make_client(ioc.get_executor(), insecure_settings());
        auto d = co_await anon->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.find("requires credentials for test/app") != std::string::npos);

        auto wrong = make_client(ioc.get_executor(), insecure_settings(credentials{"admin", "nope", "registries.x"}));
        d = co_await wrong->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.starts_with(server.authority() + " refused credentials for test/app: "));
        CHECK(d.error().message.find("credentials from registries.x") != std::string::npos);
        CHECK(d.error().message.find("nope") == std::string::npos);
    });
}

TEST_CASE("client: 401 after a fresh token is unauthorized with the registry's reason")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        reg.reject_tokens = true;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://" + server.authority() + "/token";
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message == server.authority() + " refused credentials for test/app: token from " + reg.realm +
                                       " (anonymous) was rejected: insufficient_scope");
        CHECK(server.requests().size() == 3);  // no retry loop
    });
}

TEST_CASE("client: Basic challenge is answered with credentials, and refused without")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto handler = [](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            if (req["Authorization"] == "Basic YWRtaW46c2VjcmV0")
                return head_ok(digest_a);
            return make_response(401, {{"WWW-Authenticate", R"(Basic realm="Registry Realm")"}});
        };
        fake_http_server server(ioc, handler);

        auto with = make_client(ioc.get_executor(), insecure_settings(credentials{"admin", "secret", "test"}));
        auto d = co_await with->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(d->digest == digest_a);
        CHECK(server.requests().size() == 2);
        // Warm: Basic goes out at once.
        d = co_await with->resolve(ref_at(server.authority()), "");
        REQUIRE(d.has_value());
        CHECK(server.requests().size() == 3);

        auto without = make_client(ioc.get_executor(), insecure_settings());
        d = co_await without->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.find("none are configured") != std::string::npos);

        auto wrong = make_client(ioc.get_executor(), insecure_settings(credentials{"admin", "x", "test"}));
        d = co_await wrong->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.find("refused credentials for test/app") != std::string::npos);
    });
}

TEST_CASE("client: status codes map to error kinds with actionable messages")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto handler = [](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            std::string t(req.target);
            if (t.ends_with("/manifests/missing"))
                return make_response(404);
            if (t.ends_with("/manifests/boom"))
                return make_response(500);
            if (t.ends_with("/manifests/nodigest"))
                return make_response(200);
            if (t.ends_with("/manifests/baddigest"))
                return make_response(200, {{"Docker-Content-Digest", "sha256:xyz"}});
            if (t.ends_with("/manifests/forbidden"))
                return make_response(403);
            return head_ok(digest_a);
        };
        fake_http_server server(ioc, handler);
        auto c = make_client(ioc.get_executor(), insecure_settings());
        auto reg = server.authority();

        auto d = co_await c->resolve(ref_at(reg, "test/app", "missing"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::not_found);
        CHECK(d.error().message == "manifest unknown: " + reg + "/test/app:missing");

        d = co_await c->resolve(ref_at(reg, "test/app", "boom"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::failed);
        CHECK(d.error().message == reg + ": HEAD /v2/test/app/manifests/boom answered 500 Internal Server Error");

        d = co_await c->resolve(ref_at(reg, "test/app", "nodigest"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::bad_response);
        CHECK(d.error().message == reg + " sent no Docker-Content-Digest for " + reg + "/test/app:nodigest");

        d = co_await c->resolve(ref_at(reg, "test/app", "baddigest"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::bad_response);

        d = co_await c->resolve(ref_at(reg, "test/app", "forbidden"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);

        // A digest reference asks for the digest.
        image_ref by_digest{reg, "test/app", "", digest_a};
        d = co_await c->resolve(by_digest, "");
        REQUIRE(d.has_value());
        CHECK(server.requests().back().target == "/v2/test/app/manifests/" + digest_a);
    });
}

namespace {

// Error messages end up in JSON answers (status, refresh results, notifications): JSON must be valid
// UTF-8, and Boost.JSON serializes a string's bytes as they are.
bool survives_json(const std::string& s)
{
    boost::json::error_code ec;
    auto v = boost::json::parse(boost::json::serialize(boost::json::value(s)), ec);
    return !ec && v.is_string();
}

}  // namespace

TEST_CASE("client: registry bytes that are not UTF-8 reach error messages as valid UTF-8")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        std::string realm;
        auto handler = [&realm](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            std::string t(req.target);
            if (t.ends_with("/manifests/reason"))
            {
                auto res = make_response(500);
                res.reason = "Bad \xff\xfe Gateway \xe2\x82";  // obs-text is legal in a reason phrase
                return res;
            }
            if (t.ends_with("/manifests/digest"))
                return make_response(200, {{"Docker-Content-Digest", "sha256:\xc0\xaf\xed\xa0\x80"}});
            if (t.starts_with("/token"))  // 199 ASCII bytes, then a character cut by the 200-byte excerpt
                return make_response(500, {}, std::string(199, 'x') + "\xe2\x82\xac\xe2\x82\xac");
            if (t.ends_with("/manifests/token"))
                return make_response(401, {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake\""}});
            return head_ok(digest_a);
        };
        fake_http_server server(ioc, handler);
        realm = "http://" + server.authority() + "/token";
        auto c = make_client(ioc.get_executor(), insecure_settings());
        auto reg = server.authority();

        auto d = co_await c->resolve(ref_at(reg, "test/app", "reason"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK_MESSAGE(survives_json(d.error().message), d.error().message);
        CHECK(d.error().message.find("answered 500 Bad \xef\xbf\xbd") != std::string::npos);

        d = co_await c->resolve(ref_at(reg, "test/app", "digest"), "");  // an overlong '/' and a surrogate
        REQUIRE_FALSE(d.has_value());
        CHECK_MESSAGE(survives_json(d.error().message), d.error().message);

        d = co_await c->resolve(ref_at(reg, "test/app", "token"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK_MESSAGE(survives_json(d.error().message), d.error().message);
        CHECK(d.error().message.ends_with(std::string(199, 'x') + "..."));
    });
}

TEST_CASE("client: 429 with Retry-After is rate_limited and holds that registry back")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto handler = [](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            return make_response(429, {{"Retry-After", "30"}});
        };
        fake_http_server server(ioc, handler);
        auto c = make_client(ioc.get_executor(), insecure_settings());
        auto reg = server.authority();

        CHECK_FALSE(c->retry_after(reg).has_value());
        auto d = co_await c->resolve(ref_at(reg), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::rate_limited);
        CHECK(d.error().message == reg + " answered 429 Too Many Requests: retry after 30s");
        auto wait = c->retry_after(reg);
        REQUIRE(wait.has_value());
        CHECK(*wait > 28s);
        CHECK(*wait <= 30s);
        CHECK_FALSE(c->retry_after("other.example").has_value());

        // While it lasts, no request is sent.
        d = co_await c->resolve(ref_at(reg, "test/other"), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::rate_limited);
        CHECK(d.error().message.find("no request sent") != std::string::npos);
        CHECK(server.requests().size() == 1);
    });
}

TEST_CASE("client: 503 is rate_limited only with Retry-After")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bool with_header = false;
        auto handler = [&with_header](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            if (with_header)
                return make_response(503, {{"Retry-After", "2"}});
            return make_response(503);
        };
        fake_http_server server(ioc, handler);
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::failed);
        with_header = true;
        d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::rate_limited);
        CHECK(d.error().message.find("retry after 2s") != std::string::npos);
    });
}

TEST_CASE("client: a server that accepts but never answers times out")
{
    auto start = std::chrono::steady_clock::now();
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto handler = [](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            return std::nullopt;
        };
        fake_http_server server(ioc, handler);
        auto s = insecure_settings();
        s.request_timeout = 200ms;
        auto c = make_client(ioc.get_executor(), s);

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::timed_out);
        CHECK(d.error().message.find("no answer within") != std::string::npos);
        CHECK(server.requests().size() == 1);
    });
    CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("client: connection refused is unreachable; https is the default")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        // A port that was just free.
        asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        auto reg = "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
        probe.close();

        auto c = make_client(ioc.get_executor(), insecure_settings());
        auto d = co_await c->resolve(ref_at(reg), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.starts_with(reg + ": connect: "));

        // Without insecure_http a plain HTTP server is spoken to with TLS, which fails.
        auto handler = [](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            return head_ok(digest_a);
        };
        fake_http_server server(ioc, handler);
        client_settings s;
        s.connect_timeout = 1s;
        s.request_timeout = 1s;
        auto tls_client = make_client(ioc.get_executor(), s);
        d = co_await tls_client->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("TLS handshake") != std::string::npos);
        CHECK(d.error().message.find("insecure_http") != std::string::npos);
    });
}

TEST_CASE("client: a plain HTTP token realm is allowed when the registry itself is insecure_http")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        fake_http_server server(ioc, std::ref(reg));
        reg.realm = "http://localhost:" + std::to_string(server.port()) + "/token";  // no entry of its own
        auto s = insecure_settings();
        s.host_options_for = [reg_host = server.authority()](std::string_view host) {
            return host_options{"", host == reg_host, std::nullopt};
        };
        auto c = make_client(ioc.get_executor(), s);
        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(server.requests()[1]["Host"] == "localhost:" + std::to_string(server.port()));
    });
}

// ---- TLS ----

namespace {

client_settings tls_settings(std::map<std::string, std::string> ca_by_host)
{
    client_settings s;
    s.connect_timeout = 2s;
    s.request_timeout = 2s;
    s.host_options_for = [ca_by_host = std::move(ca_by_host)](std::string_view host) {
        auto it = ca_by_host.find(std::string(host));
        return host_options{it == ca_by_host.end() ? "" : it->second, false, std::nullopt};
    };
    return s;
}

}  // namespace

TEST_CASE("client TLS: verified with the host's ca_file, SNI and host name")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        fake_http_server server(ioc, std::ref(reg), fake_http_server::options::https());
        std::string host = "localhost:" + std::to_string(server.port());
        reg.realm = "https://" + host + "/token";

        auto good = make_client(ioc.get_executor(), tls_settings({{host, tls_dir + "/ca.crt"}}));
        auto d = co_await good->resolve(ref_at(host), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(d->digest == digest_a);
        CHECK(server.requests().size() == 3);
        CHECK(server.accepted() == 1);  // registry and realm share the host: one TLS connection

        // The system CAs alone do not know the test CA.
        auto system_only = make_client(ioc.get_executor(), tls_settings({}));
        d = co_await system_only->resolve(ref_at(host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);

        auto wrong = make_client(ioc.get_executor(), tls_settings({{host, tls_dir + "/other-ca.crt"}}));
        d = co_await wrong->resolve(ref_at(host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);
        CHECK(d.error().message.find("other-ca.crt") != std::string::npos);

        // The certificate names localhost only: 127.0.0.1 fails the host name check.
        std::string by_ip = server.authority();
        auto ip = make_client(ioc.get_executor(), tls_settings({{by_ip, tls_dir + "/ca.crt"}}));
        d = co_await ip->resolve(ref_at(by_ip), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed: the certificate is not valid for 127.0.0.1") !=
              std::string::npos);

        auto missing = make_client(ioc.get_executor(), tls_settings({{host, tls_dir + "/nonexistent.crt"}}));
        d = co_await missing->resolve(ref_at(host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::invalid_argument);
        CHECK(d.error().message.find("nonexistent.crt") != std::string::npos);
    });
}

TEST_CASE("client TLS: the token realm uses its own ca_file, else the registry's")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        bearer_registry reg;
        fake_http_server registry(ioc, std::ref(reg), fake_http_server::options::https());
        fake_http_server token_server(ioc, std::ref(reg), fake_http_server::options::https());
        std::string reg_host = "localhost:" + std::to_string(registry.port());
        std::string realm_host = "localhost:" + std::to_string(token_server.port());
        reg.realm = "https://" + realm_host + "/token";

        // No entry for the realm host: the registry's ca_file is trusted for it.
        auto inherit = make_client(ioc.get_executor(), tls_settings({{reg_host, tls_dir + "/ca.crt"}}));
        auto d = co_await inherit->resolve(ref_at(reg_host), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(token_server.requests().size() == 1);

        // The realm host's own entry wins (here a wrong CA, so the token fetch fails).
        auto own =
            make_client(ioc.get_executor(),
                        tls_settings({{reg_host, tls_dir + "/ca.crt"}, {realm_host, tls_dir + "/other-ca.crt"}}));
        d = co_await own->resolve(ref_at(reg_host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.starts_with("token: " + realm_host + ": TLS handshake: certificate verify failed"));

        // A TLS registry may not send credentials to a plain HTTP realm nobody allowed.
        reg.realm = "http://" + realm_host + "/token";
        auto plain = make_client(ioc.get_executor(), tls_settings({{reg_host, tls_dir + "/ca.crt"}}));
        d = co_await plain->resolve(ref_at(reg_host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.find("is plain HTTP") != std::string::npos);
    });
}
