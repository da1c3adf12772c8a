// Outbound notifications: the event JSON, one POST per outcome, retries with backoff,
// the bounded queue, and that a dead or hanging receiver never slows a refresh.
#include "notify/notifier.hpp"

#include "core/metrics.hpp"
#include "refresh/fake_docker.hpp"
#include "refresh/service.hpp"
#include "support/fake_http_server.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"
#include "support/wait.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>

using namespace imagewatch;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using test::eventually;
using test::sleep_for;

notify::event make_event(std::string runtime)
{
    notify::event e;
    e.runtime = std::move(runtime);
    e.image = "registry.test:5443/team/" + e.runtime + ":latest";
    e.new_digest = "sha256:" + std::string(64, 'b');
    e.outcome.result.pulled = {e.runtime};
    e.outcome.result.recreated = {"ws-" + e.runtime};
    return e;
}

notify::settings fast()
{
    notify::settings s;
    s.timeout = 300ms;
    s.retry_delays = {20ms, 40ms};
    return s;
}

double notify_total(std::string_view result)
{
    return metrics::global().value("imagewatch_notify_total", {{"result", result}});
}

// A webhook endpoint: answer n has status statuses[min(n, size-1)] (body "{}" unless 204); with
// `hang` it reads each request and never answers, as a stuck endpoint does. The connection closes
// after each answer.
struct receiver
{
    using server = test::fake_http_server;
    std::vector<unsigned> statuses{200};
    bool hang = false;
    server fake;

    explicit receiver(asio::io_context& ioc) : fake(ioc, [this](const server::request&) { return answer(); }) {}

    std::vector<server::request>& requests() { return fake.requests(); }
    std::string url(std::string_view path = "/hook") const { return fake.url(path); }

    std::optional<server::response> answer()
    {
        if (hang)
            return std::nullopt;
        const unsigned status = statuses[std::min(requests().size() - 1, statuses.size() - 1)];
        auto res = test::make_response(status, {}, status == 204 ? "" : "{}");
        res.close = true;
        return res;
    }
};

// A port nobody listens on: bind, read the port, close.
unsigned short dead_port(asio::io_context& ioc)
{
    asio::ip::tcp::acceptor a(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace

TEST_CASE("event JSON: runtime, digests, the refresh result arrays, ok flag and fatal error")
{
    auto e = make_event("app");
    e.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714658738104));
    e.outcome.result.errors.push_back({"app", "ws-x", "swap: health check failed"});
    auto v = boost::json::parse(notify::to_json(e)).as_object();
    CHECK(v.at("event") == "refresh");
    CHECK(v.at("timestamp") == "2024-05-02T14:05:38.104Z");
    CHECK(v.at("runtime") == "app");
    CHECK(v.at("image") == "registry.test:5443/team/app:latest");
    CHECK(v.at("old_digest").is_null());
    CHECK(v.at("new_digest").as_string() == "sha256:" + std::string(64, 'b'));
    CHECK(v.at("ok") == false);
    CHECK(v.at("recreated").as_array().size() == 1);
    CHECK(v.at("skipped").as_array().empty());
    CHECK(v.at("errors").as_array().at(0).at("container") == "ws-x");
    CHECK(v.at("error").is_null());
    e.outcome.result.errors.clear();
    CHECK(boost::json::parse(notify::to_json(e)).at("ok") == true);
    e.outcome.fatal = "container list: cannot reach the Docker daemon";
    auto f = boost::json::parse(notify::to_json(e));
    CHECK(f.at("ok") == false);
    CHECK(f.at("error") == "container list: cannot reach the Docker daemon");
}

TEST_CASE("parse_target: http(s), ports, path and query, Basic auth from userinfo, bad URLs")
{
    auto t = notify::parse_target("https://user:p%40ss@hooks.example:8443/in/iw?x=1").value();
    CHECK(t.tls);
    CHECK(t.host == "hooks.example");
    CHECK(t.port == "8443");
    CHECK(t.host_header == "hooks.example:8443");
    CHECK(t.path == "/in/iw?x=1");
    CHECK(t.authorization == "Basic dXNlcjpwQHNz");  // user:p@ss
    auto h = notify::parse_target("http://[::1]").value();
    CHECK_FALSE(h.tls);
    CHECK(h.host == "::1");
    CHECK(h.port == "80");
    CHECK(h.path == "/");
    CHECK(notify::parse_target("https://example.com").value().port == "443");
    CHECK_FALSE(notify::parse_target("ftp://example.com/").has_value());
    CHECK_FALSE(notify::parse_target("example.com/hook").has_value());
    CHECK_FALSE(notify::parse_target("").has_value());
}

TEST_CASE("one POST per event, in order, as JSON; counted ok")
{
    const double ok0 = notify_total("ok");
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        receiver rx(ioc);
        const std::string url = rx.url("/hook?src=iw");
        notify::notifier n(
            ioc.get_executor(), [&] { return url; }, fast());
        const std::vector<std::string> names{"a", "b", "c"};
        for (const auto& name : names)
            n.notify(make_event(name));
        CHECK(co_await eventually([&] { return rx.requests().size() >= 3 && n.pending() == 0; }));
        co_await sleep_for(100ms);  // nothing more arrives: exactly one POST per event
        REQUIRE(rx.requests().size() == 3);
        std::vector<std::string> order;
        for (const auto& r : rx.requests())
        {
            CHECK(r.target == "/hook?src=iw");
            CHECK(r["Content-Type"] == "application/json");
            CHECK(r["Authorization"].empty());
            order.emplace_back(boost::json::parse(r.body).at("runtime").as_string());
        }
        CHECK(order == std::vector<std::string>{"a", "b", "c"});
    });
    CHECK(notify_total("ok") == ok0 + 3);
}

TEST_CASE("notify is off while the URL is empty, and follows URL changes")
{
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        receiver rx(ioc);
        std::string url;
        notify::notifier n(
            ioc.get_executor(), [&] { return url; }, fast());
        n.notify(make_event("off"));
        CHECK(n.pending() == 0);
        url = rx.url();
        n.notify(make_event("on"));
        CHECK(co_await eventually([&] { return rx.requests().size() == 1; }));
        CHECK(boost::json::parse(rx.requests().at(0).body).at("runtime") == "on");
    });
}

TEST_CASE("a failing receiver is retried with backoff; success after retries counts once")
{
    const double ok0 = notify_total("ok"), err0 = notify_total("error");
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        receiver rx(ioc);
        rx.statuses = {500, 503, 204};
        const std::string url = rx.url();
        notify::notifier n(
            ioc.get_executor(), [&] { return url; }, fast());
        const auto t0 = steady::now();
        n.notify(make_event("a"));
        CHECK(co_await eventually([&] { return n.pending() == 0; }));
        CHECK(steady::now() - t0 >= 60ms);  // both backoff delays were waited
        REQUIRE(rx.requests().size() == 3);
        CHECK(rx.requests()[0].body == rx.requests()[2].body);
    });
    CHECK(notify_total("ok") == ok0 + 1);
    CHECK(notify_total("error") == err0);
}

TEST_CASE("a receiver that keeps failing: three tries, then counted as error")
{
    const double err0 = notify_total("error");
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        receiver rx(ioc);
        rx.statuses = {500};
        const std::string url = rx.url();
        notify::notifier n(
            ioc.get_executor(), [&] { return url; }, fast());
        n.notify(make_event("a"));
        CHECK(co_await eventually([&] { return n.pending() == 0; }));
        CHECK(rx.requests().size() == 3);
        // Down (connection refused) and a bad URL are errors too.
        const std::string down = "http://127.0.0.1:" + std::to_string(dead_port(ioc)) + "/";
        notify::notifier d(
            ioc.get_executor(), [&] { return down; }, fast());
        d.notify(make_event("b"));
        CHECK(co_await eventually([&] { return d.pending() == 0; }));
        notify::notifier bad(
            ioc.get_executor(), [] { return std::string("gopher://x/"); }, fast());
        bad.notify(make_event("c"));
        CHECK(co_await eventually([&] { return bad.pending() == 0; }));
    });
    CHECK(notify_total("error") == err0 + 3);
}

TEST_CASE("a hanging receiver times out each try; the queue is bounded and drops the oldest")
{
    const double dropped0 = notify_total("dropped"), err0 = notify_total("error");
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        receiver rx(ioc);
        rx.hang = true;
        const std::string url = rx.url();
        auto s = fast();
        s.queue_limit = 2;
        s.timeout = 100ms;
        s.retry_delays = {10ms};
        notify::notifier n(
            ioc.get_executor(), [&] { return url; }, s);
        const std::vector<std::string> names{"1", "2", "3", "4", "5"};
        for (const auto& name : names)
            n.notify(make_event(name));
        CHECK(n.pending() == 2);
        CHECK(notify_total("dropped") == dropped0 + 3);
        CHECK(co_await eventually([&] { return n.pending() == 0; }));
        // 2 events x 2 tries, each cut off by the timeout; only the newest two were tried.
        REQUIRE(rx.requests().size() == 4);
        CHECK(boost::json::parse(rx.requests().front().body).at("runtime") == "4");
        CHECK(boost::json::parse(rx.requests().back().body).at("runtime") == "5");
    });
    CHECK(notify_total("error") == err0 + 2);
}

TEST_CASE("a down or hanging receiver does not slow refreshes (relative to notify off, same run)")
{
    // Real refresh::service runs over the fake engine (each replaces one container and waits out
    // the swap's grace period), followed by notify() as the daemon does. Only ratios are asserted.
    struct timing
    {
        double refresh_ms = 0;     // mean refresh duration
        double notify_max_ms = 0;  // slowest notify() call
    };
    std::map<std::string, timing> by_mode;
    const std::string image = "registry.test:5443/team/app:latest";
    const std::vector<config::runtime> rts{test::rt("app", image)};
    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            receiver hanging(ioc);
            hanging.hang = true;
            std::map<std::string, std::string> urls;
            urls["off"] = "";
            urls["down"] = "http://127.0.0.1:" + std::to_string(dead_port(ioc)) + "/";
            urls["hanging"] = hanging.url();
            refresh::settings rs;
            rs.swap.grace = 30ms;
            rs.swap.poll = 5ms;
            constexpr int rounds = 6;
            const std::vector<std::string> modes{"off", "down", "hanging", "off"};  // "off" twice: warm-up and noise
            for (const auto& mode : modes)
            {
                test::fake_docker d;
                d.add_image(image, {});
                d.add_container("ws-app", image);
                refresh::service svc(ioc.get_executor(), d,
                                     [](image_ref) -> awaitable<std::string> { co_return std::string(); });
                const std::string url = urls.at(mode);
                notify::notifier n(
                    ioc.get_executor(), [&] { return url; }, notify::settings{});  // 5 s, 1 s, 2 s
                timing t;
                for (int i = 0; i < rounds; ++i)
                {
                    d.next_image(image, {});
                    const auto t0 = steady::now();
                    auto out = co_await svc.refresh(rts, true, rs);
                    const auto t1 = steady::now();
                    REQUIRE(out.result.recreated.size() == 1);
                    notify::event e;
                    e.runtime = "app";
                    e.outcome = out;
                    n.notify(std::move(e));
                    const auto t2 = steady::now();
                    t.refresh_ms += std::chrono::duration<double, std::milli>(t1 - t0).count() / rounds;
                    t.notify_max_ms =
                        std::max(t.notify_max_ms, std::chrono::duration<double, std::milli>(t2 - t1).count());
                }
                if (mode != "off")
                    CHECK(n.pending() > 0);  // still trying in the background while refreshes went on
                auto& slot = by_mode[mode];
                slot =
                    by_mode.count(mode) && slot.refresh_ms > 0
                        ? timing{std::min(slot.refresh_ms, t.refresh_ms), std::max(slot.notify_max_ms, t.notify_max_ms)}
                        : t;
            }
        },
        20s);
    const auto& off = by_mode.at("off");
    for (const std::string mode : {"down", "hanging"})
    {
        const auto& t = by_mode.at(mode);
        const std::string what = mode + ": refresh " + std::to_string(t.refresh_ms) + " ms vs " +
                                 std::to_string(off.refresh_ms) + " ms off; notify() max " +
                                 std::to_string(t.notify_max_ms) + " ms";
        INFO(what);
        CHECK(t.refresh_ms / off.refresh_ms < 1.5);
        // notify() itself is queue-and-return: a tiny fraction of one refresh.
        CHECK(t.notify_max_ms / off.refresh_ms < 0.05);
    }
}
