// registry::client keep-alive: connections are reused per host, token requests are made once per
// scope and token lifetime, stale kept-alive connections are replaced, and every exchange is
// reported to on_request.
#include "registry/client.hpp"

#include "support/run_coro.hpp"
#include "support/wait.hpp"

#include "client_fixtures.hpp"

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <tuple>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace imagewatch::test;
using namespace std::chrono_literals;

TEST_CASE("pool: resolves of two images on one host use one registry connection, one token per scope")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        scoped_tokens tokens;
        fake_http_server token_server(ioc, std::ref(tokens));
        scoped_registry reg;
        reg.tokens = &tokens;
        reg.realm = "http://" + token_server.authority() + "/token";
        fake_http_server server(ioc, std::ref(reg));

        auto clock = std::chrono::steady_clock::now();
        std::vector<exchange_record> seen;
        auto s = recording_settings(seen);
        s.now = [&clock] { return clock; };
        auto c = make_client(ioc.get_executor(), s);

        for (int i = 0; i < 3; ++i)
        {
            auto r = co_await c->resolve(ref_at(server.authority(), "test/a"), "linux/amd64");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
        }
        for (int i = 0; i < 2; ++i)
        {
            auto r = co_await c->resolve(ref_at(server.authority(), "test/b"), "");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
        }
        CHECK(server.accepted() == 1);
        CHECK(token_server.accepted() == 1);
        CHECK(tokens.issued == 2);
        CHECK(tokens.scopes_requested == std::vector<std::string>{"repository:test/a:pull", "repository:test/b:pull"});
        CHECK(server.requests().size() == 7);  // a: 401, 200, 200, 200; b: 401, 200, 200

        // Every exchange was reported, token requests with the realm's host.
        auto reg_host = server.authority(), tok_host = token_server.authority();
        std::vector<exchange_record> expected{
            {reg_host, "HEAD", 401}, {tok_host, "GET", 200},  {reg_host, "HEAD", 200},
            {reg_host, "HEAD", 200}, {reg_host, "HEAD", 200}, {reg_host, "HEAD", 401},
            {tok_host, "GET", 200},  {reg_host, "HEAD", 200}, {reg_host, "HEAD", 200}};
        CHECK(seen == expected);

        // Past the token's lifetime: one more token, still on the same connections.
        clock += 301s;
        auto r = co_await c->resolve(ref_at(server.authority(), "test/a"), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(tokens.issued == 3);
        CHECK(server.accepted() == 1);
        CHECK(token_server.accepted() == 1);
    });
}

TEST_CASE("pool: a kept-alive connection the server closed while idle is replaced")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_http_server server(ioc, [](const fake_http_server::request&) { return head_ok(digest_a); });
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        server.close_connections();  // the server's idle timeout
        co_await sleep_for(20ms);
        r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(server.accepted() == 2);
        CHECK(server.requests().size() == 2);
    });
}

TEST_CASE("pool: a request whose kept-alive connection closes before any answer byte is sent again once")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        // The race a peek cannot see: the server closes just as the request arrives.
        int heads = 0;
        fake_http_server server(ioc, [&heads](const fake_http_server::request&) {
            return ++heads == 2 ? fake_http_server::drop_connection() : head_ok(digest_a);
        });
        std::vector<exchange_record> seen;
        auto s = recording_settings(seen);
        auto c = make_client(ioc.get_executor(), s);

        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->digest == digest_a);
        CHECK(server.requests().size() == 3);
        CHECK(server.accepted() == 2);
        CHECK(seen.size() == 2);  // the retried request is one exchange
        CHECK(seen.back() == exchange_record{server.authority(), "HEAD", 200});
    });
}

TEST_CASE("pool: a new connection that closes before answering is not retried; status 0 is reported")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        int heads = 0;
        fake_http_server server(ioc, [&heads](const fake_http_server::request&) {
            return ++heads == 1 ? head_ok(digest_a) : fake_http_server::drop_connection();
        });
        std::vector<exchange_record> seen;
        auto s = recording_settings(seen);
        auto c = make_client(ioc.get_executor(), s);

        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unreachable);
        CHECK(r.error().message == server.authority() + ": read: connection closed before an answer");
        CHECK(server.requests().size() == 3);  // first, the stale attempt, the one retry
        CHECK(server.accepted() == 2);
        CHECK(seen.back() == exchange_record{server.authority(), "HEAD", 0});
    });
}

TEST_CASE("pool: Connection: close and max_idle_per_host = 0 mean a connection per request")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_http_server closing(ioc, [](const fake_http_server::request&) {
            auto res = head_ok(digest_a);
            res.set("Connection", "close");
            return res;
        });
        auto c = make_client(ioc.get_executor(), insecure_settings());
        for (int i = 0; i < 3; ++i)
        {
            auto r = co_await c->resolve(ref_at(closing.authority()), "");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
        }
        CHECK(closing.accepted() == 3);

        fake_http_server server(ioc, [](const fake_http_server::request&) { return head_ok(digest_a); });
        auto s = insecure_settings();
        s.max_idle_per_host = 0;
        auto no_pool = make_client(ioc.get_executor(), s);
        for (int i = 0; i < 3; ++i)
        {
            auto r = co_await no_pool->resolve(ref_at(server.authority()), "");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
        }
        CHECK(server.accepted() == 3);
    });
}

TEST_CASE("pool: an idle connection is closed after idle_timeout")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_http_server server(ioc, [](const fake_http_server::request&) { return head_ok(digest_a); });
        auto s = insecure_settings();
        s.idle_timeout = 50ms;
        auto c = make_client(ioc.get_executor(), s);

        auto r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(server.open_connections() == 1);
        co_await sleep_for(150ms);
        CHECK(server.open_connections() == 0);  // the client closed it; the server saw EOF
        r = co_await c->resolve(ref_at(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(server.accepted() == 2);
    });
}

TEST_CASE("pool: destroying the client closes its idle connections at once")
{
    auto start = std::chrono::steady_clock::now();
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_http_server server(ioc, [](const fake_http_server::request&) { return head_ok(digest_a); });
        {
            auto c = make_client(ioc.get_executor(), insecure_settings());
            auto r = co_await c->resolve(ref_at(server.authority()), "");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
        }
        co_await sleep_for(20ms);
        CHECK(server.open_connections() == 0);
    });
    // The idle timer (60 s) did not keep the io_context busy.
    CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("pool: many concurrent resolves on one host share at most max_connections_per_host connections")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        scoped_tokens tokens;
        fake_http_server token_server(ioc, std::ref(tokens));
        scoped_registry reg;
        reg.tokens = &tokens;
        reg.realm = "http://" + token_server.authority() + "/token";
        fake_http_server server(ioc, std::ref(reg));
        auto s = insecure_settings();
        s.max_connections_per_host = 3;
        auto c = make_client(ioc.get_executor(), s);

        int done = 0, failed = 0;
        for (int i = 0; i < 20; ++i)
            asio::co_spawn(ioc, c->resolve(ref_at(server.authority(), "test/a"), ""),
                           [&](std::exception_ptr, result<resolved> r) {
                               ++done;
                               failed += r ? 0 : 1;
                           });
        while (done < 20)
            co_await sleep_for(5ms);
        CHECK(failed == 0);
        CHECK(server.accepted() <= 3);
        CHECK(server.requests().size() >= 20);
        server.stop();
        token_server.stop();
    });
}

TEST_CASE("pool: a resolve cancelled while it waits for a connection slot ends with errc::cancelled")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        // Every request is held unanswered: the first resolve keeps the host's only slot.
        fake_http_server server(ioc, [](const fake_http_server::request&) -> std::optional<fake_http_server::response> {
            return std::nullopt;
        });
        auto s = insecure_settings();
        s.max_connections_per_host = 1;
        auto c = make_client(ioc.get_executor(), s);

        // The one in flight may end with an exception (its connection's close after the cancelled
        // read is a co_await in a cancelled coroutine); only whether it ended matters here.
        std::optional<result<resolved>> first, second;
        std::exception_ptr second_threw;
        asio::cancellation_signal stop_first, stop_second;
        const auto spawn = [&](asio::cancellation_signal& stop, std::optional<result<resolved>>& out,
                               std::exception_ptr* threw) {
            asio::co_spawn(
                ioc, c->resolve(ref_at(server.authority()), ""),
                asio::bind_cancellation_slot(stop.slot(), [&out, threw](std::exception_ptr e, result<resolved> r) {
                    if (threw)
                        *threw = e;
                    out = std::move(r);
                }));
        };
        spawn(stop_first, first, nullptr);
        spawn(stop_second, second, &second_threw);
        CHECK(co_await eventually([&] { return server.requests().size() == 1; }));
        co_await sleep_for(20ms);
        CHECK(server.requests().size() == 1);
        CHECK(c->footprint().endpoints == 1);

        stop_second.emit(asio::cancellation_type::terminal);
        co_await sleep_for(20ms);
        REQUIRE(second.has_value());
        CHECK_FALSE(second_threw);
        REQUIRE_FALSE(second->has_value());
        CHECK(second->error().code == errc::cancelled);
        CHECK(second->error().message.find("cancelled while waiting for a connection") != std::string::npos);
        CHECK(c->footprint().endpoints == 1);  // the first still holds its slot

        stop_first.emit(asio::cancellation_type::terminal);
        co_await sleep_for(20ms);
        CHECK(first.has_value());
        CHECK(c->footprint().endpoints == 0);
        server.stop();
    });
}
