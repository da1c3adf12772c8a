// docker::client against an in-process fake daemon on a temporary Unix socket (io tier): version
// negotiation, error mapping, the pull progress stream and its two timeouts.
#include "docker/client.hpp"

#include "support/fake_http_server.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace imagewatch;
using namespace std::chrono_literals;

namespace {

const std::string stall_marker = "<stall>";      // hold the connection open, unanswered
const std::string trickle_marker = "<trickle>";  // send a progress chunk every 20ms until the client goes away
const std::string pause_marker = "<pause>";      // wait 50ms before the next piece

std::string chunk(std::string_view s)
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", s.size());
    return size + std::string(s) + "\r\n";
}

std::string json_response(unsigned status, std::string_view reason, std::string_view body, std::string_view extra = {})
{
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\nContent-Type: application/json\r\n" +
           std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

const std::string chunked_head =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string version_body(std::string_view api, std::string_view min_api = "1.12")
{
    return R"({"Version":"99.0.0","ApiVersion":")" + std::string(api) + R"(","MinAPIVersion":")" +
           std::string(min_api) + R"(","Os":"linux","Arch":"amd64"})";
}

// A scripted daemon: each "METHOD target" maps to the pieces of a raw HTTP response, written one by
// one (so chunk boundaries fall where the test puts them). Unknown routes get a Docker-style 404.
// One request per connection, as the client opens a connection per request.
struct fake_daemon
{
    using server = test::fake_http_server;
    std::map<std::string, std::vector<std::string>> routes;
    server fake;

    // Listens on a Unix socket, or on 127.0.0.1 with `tcp`.
    explicit fake_daemon(asio::io_context& ioc, bool tcp = false)
        : fake(
              ioc, [this](const server::request& req, server::exchange& ex) { return answer(req, ex); },
              tcp ? server::options{}
                  : server::options::unix_socket("/tmp/iw-docker-test-" + std::to_string(::getpid()) + ".sock"))
    {}

    void route(const std::string& key, std::vector<std::string> pieces) { routes[key] = std::move(pieces); }
    void negotiate_as(std::string_view api)
    {
        route("GET /_ping", {json_response(200, "OK", "OK", "API-Version: " + std::string(api) + "\r\n")});
        route("GET /version", {json_response(200, "OK", version_body(api))});
    }
    std::vector<server::request>& requests() { return fake.requests(); }
    // The Unix socket as the config would hand it to the client ("unix:///tmp/...").
    socket_address address() const
    {
        const std::string url = fake.url();
        return {"", 0, url.substr(std::string_view("unix://").size()), url};
    }
    void stop() { fake.stop(); }

    awaitable<void> answer(const server::request& req, server::exchange& ex)
    {
        auto it = routes.find(req.method + " " + req.target);
        const std::vector<std::string> pieces =
            it != routes.end()
                ? it->second
                : std::vector<std::string>{json_response(404, "Not Found", R"({"message":"page not found"})")};
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (const auto& p : pieces)
        {
            if (p == stall_marker)
                co_return;  // unanswered: the connection stays open until the client gives up or stop()
            if (p == pause_marker)
            {
                t.expires_after(50ms);
                co_await t.async_wait(nothrow_awaitable);
                continue;
            }
            if (p == trickle_marker)
                for (;;)
                {
                    if (!co_await ex.write(chunk(R"({"status":"Downloading","id":"abc"})"
                                                 "\n")))
                        co_return;
                    t.expires_after(20ms);
                    co_await t.async_wait(nothrow_awaitable);
                }
            if (!co_await ex.write(p))
                co_return;
        }
        ex.close();
    }
};

std::unique_ptr<docker::api> client_for(asio::io_context& ioc, const fake_daemon& d, docker::client_settings s = {})
{
    s.host = d.address();
    auto c = docker::make_client(ioc.get_executor(), s);
    REQUIRE(c.has_value());
    return std::move(*c);
}

image_ref app_ref(std::string tag) { return image_ref{"registry.test:5443", "test/app", std::move(tag), ""}; }

}  // namespace

// Negotiation picks min(daemon, 1.45) and later calls use that prefix; Host: docker is always sent.
TEST_CASE("client: negotiates the API version and uses it as the path prefix")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.47");
        d.route("GET /v1.45/containers/abc/json", {json_response(200, "OK", R"({"Id":"abc","Name":"/web"})")});
        auto c = client_for(ioc, d);
        auto v = co_await c->inspect_container("abc");  // negotiates lazily
        REQUIRE(v.has_value());
        CHECK(v->at("Name") == "/web");
        auto p = co_await c->ping();
        REQUIRE(p.has_value());
        CHECK(p->api_version == "1.45");
        CHECK(p->engine_version == "99.0.0");
        CHECK(p->os == "linux");
        REQUIRE(d.requests().size() == 5);
        CHECK(d.requests()[0].target == "/_ping");
        CHECK(d.requests()[1].target == "/version");
        for (const auto& r : d.requests())
            CHECK(r["Host"] == "docker");
        d.stop();
    });
}

// A daemon older than API 1.41 is refused with a message that says what is needed.
TEST_CASE("client: refuses Engine API below 1.41")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.40");
        auto c = client_for(ioc, d);
        auto r = co_await c->list_containers();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::failed);
        CHECK(r.error().message.find("speaks API 1.40; imagewatch needs API 1.41 or newer") != std::string::npos);
        d.stop();
    });
}

// 404 -> not_found with Docker's message; 409 -> failed with status; 304 on start is success.
TEST_CASE("client: maps HTTP errors to error codes with Docker's message")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("GET /v1.41/containers/nope/json",
                {json_response(404, "Not Found", R"({"message":"No such container: nope"})")});
        d.route(
            "POST /v1.41/containers/web/rename?name=web-imagewatch-old",
            {json_response(409, "Conflict",
                           R"({"message":"Conflict. The container name \"/web-imagewatch-old\" is already in use"})")});
        d.route("POST /v1.41/containers/web/start", {"HTTP/1.1 304 Not Modified\r\n\r\n"});
        d.route("GET /v1.41/containers/json?all=1", {json_response(200, "OK", "[{not json")});
        auto c = client_for(ioc, d);

        auto r1 = co_await c->inspect_container("nope");
        REQUIRE_FALSE(r1.has_value());
        CHECK(r1.error().code == errc::not_found);
        CHECK(r1.error().message == "inspect container nope: No such container: nope");

        auto r2 = co_await c->rename_container("web", "web-imagewatch-old");
        REQUIRE_FALSE(r2.has_value());
        CHECK(r2.error().code == errc::failed);
        CHECK(r2.error().message ==
              "rename container web to web-imagewatch-old: Conflict. The container name \"/web-imagewatch-old\" is "
              "already in use (HTTP 409)");

        CHECK((co_await c->start_container("web")).has_value());

        auto r3 = co_await c->list_containers();
        REQUIRE_FALSE(r3.has_value());
        CHECK(r3.error().code == errc::bad_response);
        d.stop();
    });
}

// docker create --stop-timeout accepts any int64; the wait for the answer is the stop timeout plus the
// request timeout, which must not overflow on the way to a deadline.
TEST_CASE("client: a huge stop timeout is capped at 24h, in the request and in the wait")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/containers/web/stop?t=86400", {"HTTP/1.1 204 No Content\r\n\r\n"});
        auto c = client_for(ioc, d);
        auto r = co_await c->stop_container("web", std::chrono::seconds(std::numeric_limits<std::int64_t>::max()));
        CHECK_MESSAGE(r.has_value(), r.error().message);
        REQUIRE(d.requests().size() == 3);
        CHECK(d.requests()[2].target == "/v1.41/containers/web/stop?t=86400");
        d.stop();
    });
}

// Error text from the daemon ends up in JSON answers; JSON must be valid UTF-8.
bool survives_json(const std::string& s)
{
    boost::json::error_code ec;
    auto v = boost::json::parse(boost::json::serialize(boost::json::value(s)), ec);
    return !ec && v.is_string();
}

TEST_CASE("client: a non-JSON error body becomes a valid UTF-8 excerpt")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("GET /v1.41/containers/a/json", {json_response(500, "Oops", "bad \xff\xfe bytes \xe2\x82")});
        // 299 ASCII bytes, then a two-byte character straddling the 300-byte excerpt limit.
        d.route("GET /v1.41/containers/b/json", {json_response(500, "Oops", std::string(299, 'x') + "\xc3\xa9tail")});
        auto c = client_for(ioc, d);

        auto a = co_await c->inspect_container("a");
        REQUIRE_FALSE(a.has_value());
        CHECK_MESSAGE(survives_json(a.error().message), a.error().message);
        CHECK(a.error().message.find("bad \xef\xbf\xbd") != std::string::npos);  // U+FFFD in place

        auto b = co_await c->inspect_container("b");
        REQUIRE_FALSE(b.has_value());
        CHECK_MESSAGE(survives_json(b.error().message), b.error().message);
        CHECK(b.error().message.find(std::string(299, 'x') + "...") != std::string::npos);
        d.stop();
    });
}

// The daemon going away mid-answer is reported as a lost connection, not as a parse error.
TEST_CASE("client: connection closed mid-response")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("GET /v1.41/containers/web/json",
                {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Id\":"});
        auto c = client_for(ioc, d);
        auto r = co_await c->inspect_container("web");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unreachable);
        CHECK(r.error().message.starts_with(
            "inspect container web: lost the connection to the Docker daemon at unix://"));
        d.stop();
    });
}

// list_containers: the name without '/', skipping legacy link names.
TEST_CASE("client: list_containers parses the summary")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("GET /v1.41/containers/json?all=1", {json_response(200, "OK", R"([
            {"Id":"a1","Names":["/web/db","/db"],"Image":"test/app:v1","State":"running","Labels":{"k":"v"}},
            {"Id":"b2","Names":["/web"],"Image":"sha256:4a91","State":"exited","Labels":{}}])")});
        auto c = client_for(ioc, d);
        auto r = co_await c->list_containers();
        REQUIRE(r.has_value());
        REQUIRE(r->size() == 2);
        CHECK((*r)[0].name == "db");
        CHECK((*r)[0].labels.at("k") == "v");
        CHECK((*r)[1].name == "web");
        CHECK((*r)[1].state == "exited");
        d.stop();
    });
}

// An answer of the wrong JSON shape fails that call with a bad_response that names the call.
TEST_CASE("client: a JSON answer of the wrong shape names the call")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("GET /v1.41/containers/json?all=1", {json_response(200, "OK", R"({"not":"a list"})")});
        d.route("GET /v1.41/containers/web/json", {json_response(200, "OK", "[]")});
        d.route("GET /v1.41/info", {json_response(200, "OK", "42")});
        d.route("GET /v1.41/services", {json_response(200, "OK", "{}")});
        auto c = client_for(ioc, d);
        auto list = co_await c->list_containers();
        REQUIRE_FALSE(list.has_value());
        CHECK(list.error().code == errc::bad_response);
        CHECK(list.error().message == "list containers: expected a JSON array");
        auto inspected = co_await c->inspect_container("web");
        REQUIRE_FALSE(inspected.has_value());
        CHECK(inspected.error().message == "inspect container web: expected a JSON object");
        auto info = co_await c->swarm_state();
        REQUIRE_FALSE(info.has_value());
        CHECK(info.error().message == "GET /info: expected a JSON object");
        auto services = co_await c->list_services({});
        REQUIRE_FALSE(services.has_value());
        CHECK(services.error().message == "list services: expected a JSON array");
        d.stop();
    });
}

// A pull that fails inside a 200 stream (objects split across chunks) is an error with Docker's text;
// X-Registry-Auth is sent only when non-empty.
TEST_CASE("client: pull error from the progress stream")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v9",
                {
                    chunked_head,
                    chunk(R"({"status":"Pulling from test/app","id":"v9"})"
                          "\r\n"
                          R"({"errorDetail":{"mess)"),
                    chunk(R"(age":"manifest unknown: manifest unknown"},"error":"manifest unknown"})"
                          "\r\n"),
                    "0\r\n\r\n",
                });
        auto c = client_for(ioc, d);
        auto r = co_await c->pull(app_ref("v9"), "", "c2VjcmV0", 5s, {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::not_found);
        CHECK(r.error().message == "pull registry.test:5443/test/app:v9: manifest unknown: manifest unknown");
        CHECK(d.requests().back()["X-Registry-Auth"] == "c2VjcmV0");
        d.stop();
    });
}

TEST_CASE("client: pull success, several objects per chunk, platform passed")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v1&platform=linux%2Famd64",
                {
                    chunked_head,
                    chunk(R"({"status":"Pulling from test/app","id":"v1"})"
                          "\r\n"
                          R"({"status":"Digest: sha256:97"})"
                          "\r\n"),
                    chunk(R"({"status":"Status: Downloaded newer image for registry.test:5443/test/app:v1"})"
                          "\r\n"),
                    "0\r\n\r\n",
                });
        auto c = client_for(ioc, d);
        auto r = co_await c->pull(app_ref("v1"), "linux/amd64", "", 5s, {});
        CHECK(r.has_value());
        CHECK(!d.requests().back().has("X-Registry-Auth"));
        d.stop();
    });
}

// A long pull reports its progress at the configured pace, never per object, and its result
// holds the final totals; a pull shorter than one period reports nothing.
TEST_CASE("client: pull progress is reported at a steady pace")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        // Two layers, 10 x 100 bytes each, one object per piece, 50ms apart: at least 1 s in all.
        std::vector<std::string> pieces{chunked_head};
        for (int i = 1; i <= 10; ++i)
            for (std::string id : {"aaa", "bbb"})
            {
                pieces.push_back(chunk(R"({"status":"Downloading","progressDetail":{"current":)" +
                                       std::to_string(i * 100) + R"(,"total":1000},"id":")" + id + "\"}\r\n"));
                pieces.push_back(pause_marker);
            }
        pieces.push_back(chunk(R"({"status":"Pull complete","id":"aaa"})"
                               "\n"
                               R"({"status":"Pull complete","id":"bbb"})"
                               "\n"));
        pieces.push_back("0\r\n\r\n");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v1", pieces);
        docker::client_settings s;
        s.pull_progress_every = 200ms;
        auto c = client_for(ioc, d, s);
        std::vector<std::pair<std::chrono::steady_clock::time_point, docker::pull_totals>> seen;
        const auto start = std::chrono::steady_clock::now();
        auto r = co_await c->pull(app_ref("v1"), "", "", 10s, [&](const docker::pull_totals& t) {
            seen.emplace_back(std::chrono::steady_clock::now(), t);
        });
        REQUIRE(r.has_value());
        CHECK(*r == docker::pull_totals{2, 2, 2000, 2000});
        // Forty objects over at least a second: a few reports, each a period after the one before.
        REQUIRE(seen.size() >= 2);
        auto prev = start;
        std::uint64_t prev_bytes = 0;
        for (const auto& [at, t] : seen)
        {
            CHECK(at - prev >= 200ms);
            CHECK(t.layers == 2);
            CHECK(t.layers_done == 0);
            CHECK(t.bytes_total == 2000);
            CHECK(t.bytes_done > prev_bytes);
            prev = at;
            prev_bytes = t.bytes_done;
        }

        // The same stream without pauses, with the default 5 s pace: no report at all.
        std::erase(pieces, pause_marker);
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v1", pieces);
        auto quick = client_for(ioc, d);
        int calls = 0;
        auto q = co_await quick->pull(app_ref("v1"), "", "", 10s, [&](const docker::pull_totals&) { ++calls; });
        REQUIRE(q.has_value());
        CHECK(*q == docker::pull_totals{2, 2, 2000, 2000});
        CHECK(calls == 0);
        d.stop();
    });
}

// The Engine answers 404 before streaming when the tag does not exist.
TEST_CASE("client: pull 404 before the stream")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v9",
                {json_response(
                    404, "Not Found",
                    R"({"message":"manifest for registry.test:5443/test/app:v9 not found: manifest unknown"})")});
        auto c = client_for(ioc, d);
        auto r = co_await c->pull(app_ref("v9"), "", "", 5s, {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::not_found);
        CHECK(r.error().message == "pull registry.test:5443/test/app:v9: manifest for registry.test:5443/test/app:v9 "
                                   "not found: manifest unknown");
        d.stop();
    });
}

// A silent stream trips the per-chunk stall timer.
TEST_CASE("client: pull stall detection")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v1",
                {chunked_head, chunk(R"({"status":"Pulling"})"), stall_marker});
        docker::client_settings s;
        s.pull_stall_timeout = 100ms;
        auto c = client_for(ioc, d, s);
        auto r = co_await c->pull(app_ref("v1"), "", "", 5s, {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::timed_out);
        CHECK(r.error().message == "pull registry.test:5443/test/app:v1: no progress from the Docker daemon for 100ms");
        d.stop();
    });
}

// A pull that keeps making progress outlives the stall timeout and is stopped by the overall deadline.
TEST_CASE("client: pull making progress is bounded only by the overall timeout")
{
    auto start = std::chrono::steady_clock::now();
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route("POST /v1.41/images/create?fromImage=registry.test%3A5443%2Ftest%2Fapp&tag=v1",
                {chunked_head, trickle_marker});
        docker::client_settings s;
        s.pull_stall_timeout = 100ms;
        auto c = client_for(ioc, d, s);
        auto r = co_await c->pull(app_ref("v1"), "", "", 400ms, {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::timed_out);
        CHECK(r.error().message == "pull registry.test:5443/test/app:v1: no answer within 400ms");
        d.stop();
    });
    CHECK(std::chrono::steady_clock::now() - start < 3s);
}

// tcp://host:port reaches the same API (plain HTTP); Host carries host:port there.
TEST_CASE("client: tcp daemon address")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc, true);
        d.negotiate_as("1.44");
        const auto port = d.fake.port();
        docker::client_settings s;
        s.host = {"127.0.0.1", port, "", "tcp://127.0.0.1:" + std::to_string(port)};
        auto c = docker::make_client(ioc.get_executor(), s);
        REQUIRE(c.has_value());
        auto v = co_await (*c)->ping();
        REQUIRE_MESSAGE(v.has_value(), v.error().message);
        CHECK(v->api_version == "1.44");
        CHECK(d.requests().at(0)["Host"] == "127.0.0.1:" + std::to_string(port));
        d.stop();
    });
}

// Nothing listens on the port: unreachable too.
TEST_CASE("client: tcp connection refused")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        auto port = probe.local_endpoint().port();
        probe.close();
        docker::client_settings s;
        s.host = {"127.0.0.1", port, "", "tcp://127.0.0.1:" + std::to_string(port)};
        auto c = docker::make_client(ioc.get_executor(), s);
        REQUIRE(c.has_value());
        auto r = co_await (*c)->ping();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unreachable);
        CHECK(r.error().message.find("connection refused; start dockerd") != std::string::npos);
    });
}

// No daemon at the socket path: unreachable, with a hint an operator can act on.
TEST_CASE("client: unreachable daemon")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        docker::client_settings s;
        s.host = {"", 0, "/tmp/iw-docker-test-does-not-exist.sock", "unix:///tmp/iw-docker-test-does-not-exist.sock"};
        auto c = docker::make_client(ioc.get_executor(), s);
        REQUIRE(c.has_value());
        auto r = co_await (*c)->ping();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unreachable);
        CHECK(r.error().message ==
              "cannot reach the Docker daemon at unix:///tmp/iw-docker-test-does-not-exist.sock: no such socket; "
              "start dockerd, or set docker.host or DOCKER_HOST to the Engine's socket");
    });
}

// The config parses docker.host; an address naming neither a socket file nor a host is a bug.
TEST_CASE("client: an address naming no socket is refused")
{
    asio::io_context ioc;
    auto r = docker::make_client(ioc.get_executor(), {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_argument);
}

TEST_CASE("client: Swarm calls: /info's Swarm part, services listed and read, update with version and credentials")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        fake_daemon d(ioc);
        d.negotiate_as("1.41");
        d.route(
            "GET /v1.41/info",
            {json_response(200, "OK",
                           R"({"ID":"x","Swarm":{"LocalNodeState":"active","ControlAvailable":false,"Error":""}})")});
        d.route("GET /v1.41/services?filters=%7B%22name%22%3A%5B%22web%22%5D%7D",
                {json_response(200, "OK", R"([{"ID":"s1","Version":{"Index":7}},"junk"])")});
        d.route("GET /v1.41/services/s1", {json_response(200, "OK", R"({"ID":"s1","Version":{"Index":7}})")});
        d.route("POST /v1.41/services/s1/update?version=7", {json_response(200, "OK", R"({"Warnings":null})")});
        d.route("POST /v1.41/services/s1/update?version=6",
                {json_response(500, "Internal Server Error",
                               R"({"message":"rpc error: code = Unknown desc = update out of sequence"})")});
        auto c = client_for(ioc, d);

        auto info = co_await c->swarm_state();
        REQUIRE(info.has_value());
        CHECK(info->local_node_state == "active");
        CHECK_FALSE(info->control_available);

        auto listed = co_await c->list_services(R"({"name":["web"]})");
        REQUIRE(listed.has_value());
        CHECK(listed->size() == 1);  // a non-object entry is dropped
        auto one = co_await c->inspect_service("s1");
        REQUIRE(one.has_value());
        CHECK(one->at("ID").as_string() == "s1");

        boost::json::object spec{{"Name", "web"}};
        auto ok = co_await c->update_service("s1", 7, spec, "c2VjcmV0");
        CHECK(ok.has_value());
        const auto& req = d.requests().back();
        CHECK(req["X-Registry-Auth"] == "c2VjcmV0");
        CHECK(req.body == R"({"Name":"web"})");
        CHECK(req["Content-Type"] == "application/json");

        auto stale = co_await c->update_service("s1", 6, spec, "");
        REQUIRE_FALSE(stale.has_value());
        CHECK(stale.error().message.find("update out of sequence") != std::string::npos);
        CHECK(!d.requests().back().has("X-Registry-Auth"));
        d.stop();
    });
}
