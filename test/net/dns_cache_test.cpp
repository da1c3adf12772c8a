#include "net/dns_cache.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::net;
using namespace std::chrono_literals;
using boost::asio::ip::make_address;

TEST_CASE("cache_ttl: a floor against lookups per connection, a ceiling so moved hosts are found")
{
    CHECK(cache_ttl(0) == min_cache_ttl);
    CHECK(cache_ttl(-1) == min_cache_ttl);
    CHECK(cache_ttl(60) == 60s);
    CHECK(cache_ttl(86400) == max_cache_ttl);
}

TEST_CASE("dns_cache: an answer is served until its TTL passes")
{
    dns_cache c;
    const auto t0 = dns_cache::clock::time_point{} + 1h;
    c.store("ok.test", {make_address("127.0.0.1")}, 10s, t0);
    REQUIRE(c.find("ok.test", t0 + 9s).has_value());
    CHECK(c.find("ok.test", t0 + 9s)->front() == make_address("127.0.0.1"));
    CHECK_FALSE(c.find("ok.test", t0 + 10s).has_value());
    CHECK_FALSE(c.find("other.test", t0).has_value());

    c.store("ok.test", {make_address("::1")}, 10s, t0 + 20s);  // a new answer replaces the old
    CHECK(c.find("ok.test", t0 + 21s)->front() == make_address("::1"));
    CHECK(c.size() == 1);
}

TEST_CASE("dns_cache: bounded; expired entries go first, then the one expiring soonest")
{
    dns_cache c(3);
    const auto t0 = dns_cache::clock::time_point{} + 1h;
    const auto a = make_address("127.0.0.1");
    c.store("short.test", {a}, 5s, t0);
    c.store("long.test", {a}, 100s, t0);
    c.store("mid.test", {a}, 50s, t0);
    c.store("new.test", {a}, 50s, t0 + 1s);  // full, nothing expired: short.test goes
    CHECK(c.size() == 3);
    CHECK_FALSE(c.find("short.test", t0 + 1s).has_value());
    CHECK(c.find("long.test", t0 + 1s).has_value());

    c.store("late.test", {a}, 50s, t0 + 60s);  // mid and new have expired by then: both go
    CHECK(c.size() == 2);
    CHECK(c.find("long.test", t0 + 60s).has_value());
    CHECK(c.find("late.test", t0 + 60s).has_value());

    dns_cache none(0);
    none.store("ok.test", {a}, 10s, t0);
    CHECK(none.size() == 0);
}
