#include "http/connection.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::http;
namespace http = boost::beast::http;

TEST_CASE("connection: a request is written as its start line, its fields in order, then the body")
{
    request head{http::verb::head, "/v2/team/app/manifests/latest", 11};
    head.set(http::field::host, "registry.test:5443");
    head.set(http::field::accept, "application/vnd.oci.image.index.v1+json");
    head.set(http::field::authorization, "Bearer t0k");
    CHECK(serialize(head).wire == "HEAD /v2/team/app/manifests/latest HTTP/1.1\r\n"
                                  "Host: registry.test:5443\r\n"
                                  "Accept: application/vnd.oci.image.index.v1+json\r\n"
                                  "Authorization: Bearer t0k\r\n"
                                  "\r\n");

    request post{http::verb::post, "/token", 11};
    post.set(http::field::content_type, "application/x-www-form-urlencoded");
    post.body() = "grant_type=refresh_token&scope=x";
    post.prepare_payload();
    CHECK(serialize(post).wire == "POST /token HTTP/1.1\r\n"
                                  "Content-Type: application/x-www-form-urlencoded\r\n"
                                  "Content-Length: 32\r\n"
                                  "\r\n"
                                  "grant_type=refresh_token&scope=x");
}

TEST_CASE("connection: a request written directly has Host first and refuses line breaks in values")
{
    auto r = make_request(http::verb::head, "/v2/a/manifests/latest", "registry.test:5443",
                          {{"Accept", "application/json"}, {"Authorization", "Bearer t0k"}});
    REQUIRE(r.has_value());
    CHECK(r->method == http::verb::head);
    CHECK(r->wire == "HEAD /v2/a/manifests/latest HTTP/1.1\r\n"
                     "Host: registry.test:5443\r\n"
                     "Accept: application/json\r\n"
                     "Authorization: Bearer t0k\r\n"
                     "\r\n");
    // The same bytes as Beast's message for the same fields.
    request same{http::verb::head, "/v2/a/manifests/latest", 11};
    same.set(http::field::host, "registry.test:5443");
    same.set(http::field::accept, "application/json");
    same.set(http::field::authorization, "Bearer t0k");
    CHECK(serialize(same).wire == r->wire);

    auto anonymous = make_request(http::verb::get, "/v2/", "h", {{"Accept", "a/b"}, {"Authorization", ""}});
    REQUIRE(anonymous.has_value());
    CHECK(anonymous->wire == "GET /v2/ HTTP/1.1\r\nHost: h\r\nAccept: a/b\r\n\r\n");

    auto evil = make_request(http::verb::get, "/v2/", "h", {{"Authorization", "Bearer x\r\nX-Injected: 1"}});
    REQUIRE_FALSE(evil.has_value());
    CHECK(evil.error().message.find("Authorization") != std::string::npos);
    CHECK(evil.error().message.find("X-Injected") == std::string::npos);  // never echoes the value
}

TEST_CASE("connection: endpoints share connections only with the same scheme, authority and CA file")
{
    auto a = make_endpoint("registry.test:5443", true, "");
    auto b = make_endpoint("registry.test:5443", true, "/ca.pem");
    auto c = make_endpoint("registry.test:5443", false, "");
    auto d = make_endpoint("registry.test:5443", true, "");
    REQUIRE((a && b && c && d));
    CHECK(a->pool_key == d->pool_key);
    CHECK(a->pool_key != b->pool_key);
    CHECK(a->pool_key != c->pool_key);
    auto v6 = make_endpoint("[::1]:5000", true, "");
    REQUIRE(v6.has_value());
    CHECK(v6->host == "::1");
    CHECK(v6->port == "5000");
    CHECK(make_endpoint("ghcr.io", true, "")->port == "443");
    CHECK(make_endpoint("ghcr.io", false, "")->port == "80");
}
