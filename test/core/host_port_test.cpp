#include "core/host_port.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

TEST_CASE("host_port: names, IPv4 and bracketed IPv6, with and without a port")
{
    auto a = split_host_port("registry.test:5443");
    REQUIRE(a.has_value());
    CHECK(a->host == "registry.test");
    CHECK(a->port == "5443");
    CHECK(a->has_port);
    CHECK_FALSE(a->bracketed);

    auto b = split_host_port("ghcr.io");
    REQUIRE(b.has_value());
    CHECK(b->host == "ghcr.io");
    CHECK(b->port.empty());
    CHECK_FALSE(b->has_port);

    auto c = split_host_port("[::1]:5000");
    REQUIRE(c.has_value());
    CHECK(c->host == "::1");
    CHECK(c->port == "5000");
    CHECK(c->bracketed);

    auto d = split_host_port("[fd00::2]");
    REQUIRE(d.has_value());
    CHECK(d->host == "fd00::2");
    CHECK_FALSE(d->has_port);

    auto e = split_host_port("127.0.0.1:");
    REQUIRE(e.has_value());
    CHECK(e->host == "127.0.0.1");
    CHECK(e->has_port);
    CHECK(e->port.empty());
}

TEST_CASE("host_port: an unbracketed IPv6 literal splits at its last colon; malformed brackets fail")
{
    auto a = split_host_port("::1");
    REQUIRE(a.has_value());
    CHECK(a->host == ":");
    CHECK(a->port == "1");

    CHECK_FALSE(split_host_port("[::1").has_value());
    CHECK_FALSE(split_host_port("[::1]5000").has_value());
    CHECK(split_host_port("[::1]x").error().code == errc::invalid_argument);
}

TEST_CASE("parse_port")
{
    CHECK(parse_port("443").value() == 443);
    CHECK(parse_port("65535").value() == 65535);
    for (const char* bad : {"", "0", "65536", "https", "44a", "-1", " 80"})
    {
        CAPTURE(bad);
        CHECK(parse_port(bad).error().code == errc::invalid_argument);
    }
}
