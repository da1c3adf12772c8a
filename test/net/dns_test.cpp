// net::resolve against a DNS server of the test's own on loopback (test/e2e/dns_server.py): one
// name answers, one never does, so concurrency, deadlines and the cache are observed directly.
#include "net/dns.hpp"

#include "core/timeout.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace imagewatch;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// The milliseconds in "<prefix>NNNms", or -1 when the message has another shape.
int budget_in(const std::string& message, const std::string& prefix)
{
    if (!message.starts_with(prefix) || !message.ends_with("ms"))
        return -1;
    const auto digits = message.substr(prefix.size(), message.size() - prefix.size() - 2);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        return -1;
    return std::stoi(digits);
}

// dns_server.py on 127.0.0.1 at a free port: ok.test -> 127.0.0.1, six.test -> ::1,
// stall.test never answered, anything else NXDOMAIN.
class dns_server
{
public:
    dns_server()
    {
        char tmpl[] = "/tmp/iw-dns-test-XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        log_ = tmpl;
        int out[2];
        REQUIRE(::pipe(out) == 0);
        const std::string script = IMAGEWATCH_TEST_DATA "/../e2e/dns_server.py";
        std::vector<std::string> args{
            "/usr/bin/python3",  script,   "--listen",     "127.0.0.1:0", "--log",     log_, "--ttl", "60", "--a",
            "ok.test=127.0.0.1", "--aaaa", "six.test=::1", "--stall",     "stall.test"};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(out[1]);
        REQUIRE(rc == 0);
        std::string line;
        char c = 0;
        while (::read(out[0], &c, 1) == 1 && c != '\n')
            line += c;
        ::close(out[0]);
        REQUIRE_MESSAGE(line.rfind("ready ", 0) == 0, "dns_server.py did not start: " << line);
        port_ = std::stoi(line.substr(6));
    }
    ~dns_server()
    {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        std::remove(log_.c_str());
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    // Queries the server received for name (any type).
    int asked(const std::string& name) const
    {
        std::ifstream f(log_);
        std::string t, n, type;
        int count = 0;
        while (f >> t >> n >> type)
            count += n == name ? 1 : 0;
        return count;
    }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string log_;
};

steady::time_point in(steady::duration d) { return steady::now() + d; }

}  // namespace

TEST_CASE("ip_literal: addresses are used as they are, names are looked up")
{
    CHECK(net::ip_literal("127.0.0.1") == asio::ip::make_address("127.0.0.1"));
    CHECK(net::ip_literal("::1") == asio::ip::make_address("::1"));
    CHECK(net::ip_literal("[::1]") == asio::ip::make_address("::1"));
    CHECK(net::ip_literal("[2001:db8::5]") == asio::ip::make_address("2001:db8::5"));
    CHECK_FALSE(net::ip_literal("registry.test").has_value());
    CHECK_FALSE(net::ip_literal("[registry.test]").has_value());
    CHECK_FALSE(net::ip_literal("[127.0.0.1").has_value());
    CHECK_FALSE(net::ip_literal("").has_value());
}

TEST_CASE("resolve: an IP literal asks no name server")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        net::use_name_servers(ioc, "127.0.0.1:9");  // nothing listens: a lookup would fail
        auto v6 = co_await net::resolve("[::1]", "5000", in(1s));
        REQUIRE(v6.has_value());
        REQUIRE(v6->size() == 1);
        CHECK(v6->front() == asio::ip::tcp::endpoint(asio::ip::make_address("::1"), 5000));
        auto v4 = co_await net::resolve("127.0.0.1", "80", in(1s));
        REQUIRE(v4.has_value());
        CHECK(v4->front() == asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 80));
        auto bad = co_await net::resolve("127.0.0.1", "http", in(1s));
        CHECK(bad.error().code == errc::invalid_argument);
    });
}

TEST_CASE("resolve: A and AAAA answers, NXDOMAIN, and the cache")
{
    dns_server dns;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        net::use_name_servers(ioc, dns.address());
        auto ok = co_await net::resolve("ok.test", "443", in(5s));
        REQUIRE_MESSAGE(ok.has_value(), ok.error().message);
        CHECK(*ok == net::endpoints{{asio::ip::make_address("127.0.0.1"), 443}});
        auto six = co_await net::resolve("SIX.test", "5000", in(5s));  // names are case-insensitive
        REQUIRE_MESSAGE(six.has_value(), six.error().message);
        CHECK(*six == net::endpoints{{asio::ip::make_address("::1"), 5000}});
        auto none = co_await net::resolve("nope.test", "443", in(5s));
        REQUIRE_FALSE(none.has_value());
        CHECK(none.error().code == errc::unreachable);
        CHECK(none.error().message == "DNS lookup of nope.test: no such host");

        const int before = dns.asked("ok.test");
        auto again = co_await net::resolve("ok.test", "8443", in(5s));  // cached, with the new port
        REQUIRE(again.has_value());
        CHECK(*again == net::endpoints{{asio::ip::make_address("127.0.0.1"), 8443}});
        CHECK(dns.asked("ok.test") == before);
    });
}

TEST_CASE("resolve: /etc/hosts is read before DNS")
{
    dns_server dns;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        net::use_name_servers(ioc, dns.address());
        auto local = co_await net::resolve("localhost", "80", in(5s));
        REQUIRE_MESSAGE(local.has_value(), local.error().message);
        CHECK(local->front().address().is_loopback());
    });
    CHECK(dns.asked("localhost") == 0);
}

TEST_CASE("resolve: a name that never answers delays only its own callers, each until its deadline")
{
    dns_server dns;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        net::use_name_servers(ioc, dns.address());
        std::optional<result<net::endpoints>> stalled, stalled_longer;
        std::optional<steady::duration> stalled_after, longer_after;
        asio::co_spawn(
            ioc,
            [&]() -> awaitable<void> {
                const auto start = steady::now();
                stalled = co_await net::resolve("stall.test", "443", start + 800ms);
                stalled_after = steady::now() - start;
            },
            asio::detached);
        asio::co_spawn(
            ioc,
            [&]() -> awaitable<void> {
                const auto start = steady::now();
                stalled_longer = co_await net::resolve("stall.test", "443", start + 1500ms);
                longer_after = steady::now() - start;
            },
            asio::detached);
        // Wait until the stalled query is at the server: everything below is asked after it.
        asio::steady_timer tick(ioc);
        while (dns.asked("stall.test") == 0)
        {
            tick.expires_after(5ms);
            co_await tick.async_wait(nothrow_awaitable);
        }
        const auto asked = steady::now();
        auto ok = co_await net::resolve("ok.test", "443", in(5s));
        REQUIRE_MESSAGE(ok.has_value(), ok.error().message);
        CHECK(steady::now() - asked < 300ms);
        CHECK_FALSE(stalled.has_value());  // still waiting

        while (!stalled_longer)
        {
            tick.expires_after(10ms);
            co_await tick.async_wait(nothrow_awaitable);
        }
        REQUIRE(stalled.has_value());
        REQUIRE_FALSE(stalled->has_value());
        CHECK(stalled->error().code == errc::timed_out);
        // The budget in the message runs from when the lookup began, a little after the caller
        // read its clock (more than a millisecond on a loaded machine): within 20 ms of it.
        CHECK(budget_in(stalled->error().message, "DNS lookup of stall.test: no answer within ") >= 780);
        CHECK(budget_in(stalled->error().message, "DNS lookup of stall.test: no answer within ") <= 800);
        CHECK(*stalled_after >= 800ms);
        CHECK(*stalled_after < 1200ms);
        REQUIRE_FALSE(stalled_longer->has_value());
        CHECK(budget_in(stalled_longer->error().message, "DNS lookup of stall.test: no answer within ") >= 1480);
        CHECK(budget_in(stalled_longer->error().message, "DNS lookup of stall.test: no answer within ") <= 1500);
        CHECK(*longer_after >= 1500ms);
        CHECK(*longer_after < 1900ms);
        // The second caller joined the first caller's lookup instead of asking again.
        CHECK(dns.asked("stall.test") <= 2);  // one A and one AAAA query
    });
}

TEST_CASE("resolve: a cancelled caller stops waiting at once")
{
    dns_server dns;
    test::run_coro([&](asio::io_context& ioc) -> awaitable<void> {
        net::use_name_servers(ioc, dns.address());
        const auto t0 = steady::now();
        auto r = co_await with_timeout(net::resolve("stall.test", "443", in(30s)), 200ms, "connect");
        CHECK(steady::now() - t0 < 1s);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::timed_out);
        CHECK(r.error().message == "connect: no answer within 200ms");
    });
}
