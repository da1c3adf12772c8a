// registry::client against registries and token servers that do not play fair: a registry naming
// another registry's realm, a realm on plain HTTP, a registry handing out a new realm every time.
#include "registry/client.hpp"

#include "core/base64.hpp"
#include "registry/token.hpp"
#include "support/run_coro.hpp"

#include "client_fixtures.hpp"

#include <boost/asio/steady_timer.hpp>
#include <doctest/doctest.h>

#include <map>
#include <memory>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace std::chrono_literals;
using namespace imagewatch::test;

namespace {

std::string basic(const std::string& user, const std::string& password)
{
    return "Basic " + base64_encode(user + ":" + password);
}

// A token server that names in each token whom it issued it to: "tok-<n>-<user>" ("anon" without
// credentials). users: Basic header -> user name.
struct naming_token_server
{
    std::map<std::string, std::string> users;
    int issued = 0;

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string auth(req["Authorization"]);
        std::string user = "anon";
        if (!auth.empty())
        {
            auto it = users.find(auth);
            if (it == users.end())
                return make_response(401, {}, R"({"details":"bad credentials"})");
            user = it->second;
        }
        return make_response(200, {{"Content-Type", "application/json"}},
                             R"({"token":"tok-)" + std::to_string(++issued) + "-" + user + R"(","expires_in":300})");
    }
};

// A registry that takes the tokens the realm issued to `user` only, and challenges with `realm`
// and service "shared" (the same for every registry of a test).
struct user_registry
{
    std::string realm;
    std::string user;

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string auth(req["Authorization"]);
        if (auth.starts_with("Bearer tok-") && auth.ends_with("-" + user))
            return head_ok(digest_a);
        return make_response(401,
                             {{"WWW-Authenticate", "Bearer realm=\"" + realm +
                                                       "\",service=\"shared\",scope=\"repository:test/app:pull\""}});
    }
};

}  // namespace

TEST_CASE("hostile: a registry naming another registry's realm and service does not get its token")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        naming_token_server tokens;
        tokens.users = {{basic("alice", "a-secret"), "alice"}, {basic("bob", "b-secret"), "bob"}};
        fake_http_server token_server(ioc, std::ref(tokens));
        const std::string realm = "http://" + token_server.authority() + "/token";
        user_registry a_reg{realm, "alice"};
        fake_http_server a(ioc, std::ref(a_reg));
        user_registry b_reg{realm, "anon"};
        fake_http_server b(ioc, std::ref(b_reg));

        auto s = insecure_settings();
        std::optional<credentials> b_creds;
        s.host_options_for = [&](std::string_view host) {
            if (host == a.authority())
                return host_options{"", true, credentials{"alice", "a-secret", "registries.A"}};
            if (host == b.authority())
                return host_options{"", true, b_creds};
            return host_options{"", true, std::nullopt};
        };
        auto c = make_client(ioc.get_executor(), s);

        auto d = co_await c->resolve(ref_at(a.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        REQUIRE(token_server.requests().size() == 1);
        CHECK(token_server.requests()[0]["Authorization"] == basic("alice", "a-secret"));

        // B (anonymous) challenges with the very realm, service and scope A's token is cached under.
        d = co_await c->resolve(ref_at(b.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        for (const auto& r : b.requests())
            CHECK(r["Authorization"] != "Bearer tok-1-alice");
        REQUIRE(token_server.requests().size() == 2);
        CHECK(token_server.requests()[1]["Authorization"].empty());  // asked afresh, as B: anonymously
        CHECK(b.requests().back()["Authorization"] == "Bearer tok-2-anon");

        // B with credentials of its own: asked afresh with B's, and A's token still goes to A only.
        b_creds = credentials{"bob", "b-secret", "registries.B"};
        b_reg.user = "bob";
        auto b_before = b.requests().size();
        d = co_await c->resolve(ref_at(b.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        REQUIRE(token_server.requests().size() == 3);
        CHECK(token_server.requests()[2]["Authorization"] == basic("bob", "b-secret"));
        for (auto i = b_before; i < b.requests().size(); ++i)
        {
            CHECK(b.requests()[i]["Authorization"] != "Bearer tok-1-alice");
            CHECK(b.requests()[i]["Authorization"] != "Bearer tok-2-anon");  // not the anonymous one either
        }
        d = co_await c->resolve(ref_at(a.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(a.requests().back()["Authorization"] == "Bearer tok-1-alice");
        CHECK(token_server.requests().size() == 3);  // A's token is still cached for A
    });
}

TEST_CASE("hostile: a registry's token cached for one identity is not presented for another")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        naming_token_server tokens;
        tokens.users = {{basic("alice", "a-secret"), "alice"}, {basic("carol", "c-secret"), "carol"}};
        fake_http_server token_server(ioc, std::ref(tokens));
        user_registry reg{"http://" + token_server.authority() + "/token", "alice"};
        fake_http_server server(ioc, std::ref(reg));
        credentials creds{"alice", "a-secret", "registries.R"};
        auto s = insecure_settings();
        s.host_options_for = [&](std::string_view) { return host_options{"", true, creds}; };
        auto c = make_client(ioc.get_executor(), s);

        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);

        // A reload gives the registry other credentials: alice's token is not sent on their behalf.
        creds = credentials{"carol", "c-secret", "registries.R"};
        reg.user = "carol";
        auto before = server.requests().size();
        d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        CHECK(server.requests()[before]["Authorization"].empty());
        REQUIRE(token_server.requests().size() == 2);
        CHECK(token_server.requests()[1]["Authorization"] == basic("carol", "c-secret"));
    });
}

TEST_CASE("hostile: credentials go to a plain HTTP realm only when its own host is insecure_http")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        naming_token_server tokens;
        tokens.users = {{basic("alice", "a-secret"), "alice"}};
        fake_http_server token_server(ioc, std::ref(tokens));
        user_registry reg{"http://" + token_server.authority() + "/token", "alice"};
        fake_http_server server(ioc, std::ref(reg));

        // The registry itself is plain HTTP (insecure_http) and has credentials; the realm host,
        // which it chose, has no entry.
        bool realm_insecure = false;
        auto s = insecure_settings();
        s.host_options_for = [&](std::string_view host) {
            if (host == server.authority())
                return host_options{"", true, credentials{"alice", "a-secret", "registries.R"}};
            return host_options{"", realm_insecure, std::nullopt};
        };
        auto c = make_client(ioc.get_executor(), s);
        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message ==
              server.authority() + ": token realm " + reg.realm + " is plain HTTP and " + token_server.authority() +
                  " is not configured insecure_http: credentials from registries.R are not sent in clear; set "
                  "registries.\"" +
                  token_server.authority() + "\".insecure_http to allow it");
        CHECK(token_server.requests().empty());  // nothing reached the realm

        // The realm host's own insecure_http is consent to plain HTTP there.
        realm_insecure = true;
        d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        REQUIRE(token_server.requests().size() == 1);
        CHECK(token_server.requests()[0]["Authorization"] == basic("alice", "a-secret"));
    });
}

TEST_CASE("hostile: a TLS registry naming a plain HTTP realm sends it nothing")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        naming_token_server tokens;
        fake_http_server token_server(ioc, std::ref(tokens));  // plain HTTP
        user_registry reg{"http://" + token_server.authority() + "/token", "alice"};
        fake_http_server server(ioc, std::ref(reg), fake_http_server::options::https());
        std::string host = "localhost:" + std::to_string(server.port());

        client_settings s;
        s.connect_timeout = 2s;
        s.request_timeout = 2s;
        s.host_options_for = [&](std::string_view h) {
            if (h == host)
                return host_options{tls_dir + "/ca.crt", false, credentials{"alice", "a-secret", "registries.T"}};
            return host_options{};
        };
        auto c = make_client(ioc.get_executor(), s);
        auto d = co_await c->resolve(ref_at(host), "");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.find("is plain HTTP and " + token_server.authority() +
                                     " is not configured insecure_http: credentials from registries.T are not sent "
                                     "in clear") != std::string::npos);
        CHECK(token_server.requests().empty());
    });
}

TEST_CASE("hostile: a realm on another host gets the registry's credentials, never its own host's")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        naming_token_server tokens;
        tokens.users = {{basic("alice", "a-secret"), "alice"}, {basic("mallory", "m-secret"), "mallory"}};
        fake_http_server token_server(ioc, std::ref(tokens));
        user_registry reg{"http://" + token_server.authority() + "/token", "alice"};
        fake_http_server server(ioc, std::ref(reg));
        auto s = insecure_settings();
        s.host_options_for = [&](std::string_view host) {
            if (host == server.authority())
                return host_options{"", true, credentials{"alice", "a-secret", "registries.R"}};
            return host_options{"", true, credentials{"mallory", "m-secret", "registries.realm"}};
        };
        auto c = make_client(ioc.get_executor(), s);
        auto d = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(d.has_value(), d.error().message);
        REQUIRE(token_server.requests().size() == 1);
        CHECK(token_server.requests()[0]["Authorization"] == basic("alice", "a-secret"));
    });
}

TEST_CASE("hostile: a registry handing out a new realm at every challenge grows nothing without bound")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            // Every challenge names a new realm and service: most on the token server (distinct paths:
            // a new cache key each), every fourth on a distinct loopback host where nothing listens.
            // Two repositories take turns: the realm each one's last token came from is no longer the
            // registry's last challenge, so that token is never refused and dropped.
            struct state
            {
                int n = 0;
                std::string current;  // the token the registry takes now
                std::string token_host;
            };
            auto st = std::make_shared<state>();
            auto token_handler =
                [st](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
                std::string target(req.target);  // "/token/<n>?service=..."
                st->current = "t-" + target.substr(7, target.find('?') - 7) + std::string(2000, 'x');
                return make_response(200, {{"Content-Type", "application/json"}},
                                     R"({"token":")" + st->current + R"(","expires_in":86400})");
            };
            fake_http_server token_server(ioc, token_handler);
            st->token_host = token_server.authority();
            auto reg_handler = [st](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
                if (!st->current.empty() && req["Authorization"] == "Bearer " + st->current)
                {
                    st->current.clear();  // good once: the next check meets a new realm
                    return head_ok(digest_a);
                }
                int n = ++st->n;
                std::string realm = n % 4 == 0 ? "http://127.0." + std::to_string(1 + n / 250) + "." +
                                                     std::to_string(1 + n % 250) + ":1/token"
                                               : "http://" + st->token_host + "/token/" + std::to_string(n);
                return make_response(401, {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"svc-" +
                                                                    std::to_string(n) + "\""}});
            };
            fake_http_server server(ioc, reg_handler);

            auto c = make_client(ioc.get_executor(), insecure_settings());
            int ok = 0, unreachable = 0;
            std::size_t most_endpoints = 0;
            for (int i = 0; i < 1600; ++i)
            {
                auto d = co_await c->resolve(ref_at(server.authority(), i % 2 ? "test/a" : "test/b"), "");
                if (d)
                    ++ok;
                else if (d.error().code == errc::unreachable)
                    ++unreachable;
                else
                    FAIL(d.error().message);
                most_endpoints = std::max(most_endpoints, c->footprint().endpoints);
            }
            auto f = c->footprint();
            CHECK(ok > 1100);  // more distinct realms than the token cache holds
            CHECK(unreachable > 300);
            CHECK(f.tokens <= token_cache::default_max_entries);
            CHECK(f.endpoints == 0);     // nothing in flight: no entry kept for any realm host
            CHECK(most_endpoints <= 1);  // one request at a time here
            CHECK(f.challenges == 1);
            CHECK(f.idle_connections <= 2);  // the registry's and the token server's
        },
        180s);  // 4,800 requests under the sanitizers
}

TEST_CASE("hostile: realms on many hosts keep at most max_idle_total idle connections")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        struct state
        {
            int n = 0;
            std::string current;
            std::vector<std::string> realms;
        };
        auto st = std::make_shared<state>();
        auto token_handler = [st](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            st->current = "t-" + std::to_string(st->n);
            return make_response(200, {{"Content-Type", "application/json"}}, R"({"token":")" + st->current + R"("})");
        };
        std::vector<std::unique_ptr<fake_http_server>> token_servers;
        for (int i = 0; i < 40; ++i)
        {
            token_servers.push_back(std::make_unique<fake_http_server>(ioc, token_handler));
            st->realms.push_back("http://" + token_servers.back()->authority() + "/token");
        }
        auto reg_handler = [st](const fake_http_server::request& req) -> std::optional<fake_http_server::response> {
            if (!st->current.empty() && req["Authorization"] == "Bearer " + st->current)
            {
                st->current.clear();
                return head_ok(digest_a);
            }
            auto realm = st->realms[static_cast<std::size_t>(st->n++) % st->realms.size()];
            return make_response(401, {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"s\""}});
        };
        fake_http_server server(ioc, reg_handler);

        auto s = insecure_settings();
        s.max_idle_total = 8;
        auto c = make_client(ioc.get_executor(), s);
        for (int i = 0; i < 80; ++i)
        {
            auto d = co_await c->resolve(ref_at(server.authority()), "");
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(c->footprint().idle_connections <= 8);
        }
        // The connections the pool let go are closed for real: the servers see them end.
        auto open = [&] {
            std::size_t n = server.open_connections();
            for (const auto& t : token_servers)
                n += t->open_connections();
            return n;
        };
        asio::steady_timer tick(ioc);
        for (int i = 0; i < 200 && open() > 8; ++i)
        {
            tick.expires_after(10ms);
            co_await tick.async_wait(nothrow_awaitable);
        }
        CHECK(open() <= 8);
    });
}
