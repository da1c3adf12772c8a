#include "registry/token.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace std::chrono_literals;

TEST_CASE("token: pull scope") { CHECK(pull_scope("test/app") == "repository:test/app:pull"); }

TEST_CASE("token: URL from realm, service and scope")
{
    auto u = token_url("https://registry.test:5001/token", "e2e-registry", "repository:test/app:pull");
    REQUIRE(u.has_value());
    CHECK(*u == "https://registry.test:5001/token?service=e2e-registry&scope=repository:test/app:pull");

    // Docker Hub style realm; existing query parameters stay; special characters are encoded.
    u = token_url("https://auth.docker.io/token?client_id=x", "registry docker.io", "repository:library/nginx:pull");
    REQUIRE(u.has_value());
    CHECK(*u ==
          "https://auth.docker.io/token?client_id=x&service=registry%20docker.io&scope=repository:library/nginx:pull");

    // No service: left out.
    u = token_url("http://127.0.0.1:5000/token", "", "repository:a:pull");
    REQUIRE(u.has_value());
    CHECK(*u == "http://127.0.0.1:5000/token?scope=repository:a:pull");
}

TEST_CASE("token: a realm that is not an absolute http(s) URL is refused")
{
    for (const char* bad : {"", "/token", "ftp://host/token", "https:///token", "not a url"})
    {
        CAPTURE(bad);
        auto u = token_url(bad, "s", "repository:a:pull");
        REQUIRE_FALSE(u.has_value());
        CHECK(u.error().code == errc::bad_response);
    }
}

TEST_CASE("token: response with token, expires_in and issued_at")
{
    auto t = parse_token_response(
        R"({"token":"abc","access_token":"abc","expires_in":300,"issued_at":"2024-05-01T12:00:00Z"})");
    REQUIRE(t.has_value());
    CHECK(t->value == "abc");
    CHECK(t->expires_in == 300s);
    REQUIRE(t->issued_at.has_value());
    CHECK(t->issued_at->time_since_epoch() ==
          std::chrono::sys_days(std::chrono::year(2024) / 5 / 1).time_since_epoch() + 12h);
}

TEST_CASE("token: access_token only, expires_in defaults to 60 s")
{
    auto t = parse_token_response(R"({"access_token":"xyz"})");
    REQUIRE(t.has_value());
    CHECK(t->value == "xyz");
    CHECK(t->expires_in == 60s);
    CHECK_FALSE(t->issued_at.has_value());

    // An empty "token" falls back to access_token; zero or negative lifetimes mean the default.
    t = parse_token_response(R"({"token":"","access_token":"xyz","expires_in":0})");
    REQUIRE(t.has_value());
    CHECK(t->value == "xyz");
    CHECK(t->expires_in == 60s);
    t = parse_token_response(R"({"token":"a","expires_in":-5,"issued_at":"garbage"})");
    REQUIRE(t.has_value());
    CHECK(t->expires_in == 60s);
    CHECK_FALSE(t->issued_at.has_value());
    t = parse_token_response(R"({"token":"a","expires_in":120.7})");
    REQUIRE(t.has_value());
    CHECK(t->expires_in == 120s);
}

TEST_CASE("token: malformed responses are errors that do not quote the body")
{
    for (const char* bad : {"", "not json", "[]", R"({"token":5})", R"({"expires_in":60})",
                            R"({"token":"secret-x","expires_in":"soon"})"})
    {
        CAPTURE(bad);
        auto t = parse_token_response(bad);
        REQUIRE_FALSE(t.has_value());
        CHECK(t.error().code == errc::bad_response);
        CHECK(t.error().message.find("secret-x") == std::string::npos);
    }
}

TEST_CASE("token: RFC 3339 timestamps")
{
    using namespace std::chrono;
    auto base = sys_days(year(2024) / 5 / 1) + 12h;
    CHECK(parse_rfc3339("2024-05-01T12:00:00Z") == base);
    CHECK(parse_rfc3339("2024-05-01T14:00:00+02:00") == base);
    CHECK(parse_rfc3339("2024-05-01T11:30:00-00:30") == base);
    CHECK(parse_rfc3339("2024-05-01T12:00:00.250Z") == base + 250ms);
    CHECK_FALSE(parse_rfc3339("2024-05-01").has_value());
    CHECK_FALSE(parse_rfc3339("2024-02-30T00:00:00Z").has_value());
    CHECK_FALSE(parse_rfc3339("2024-05-01T12:00:00").has_value());
    CHECK_FALSE(parse_rfc3339("2024-05-01T12:00:00Zjunk").has_value());
}

TEST_CASE("token cache: served until a margin before expiry, then dropped")
{
    token_cache cache;
    token_cache::clock::time_point t0{};
    token_key key{"reg", "", "https://r/token", "svc", "repository:a:pull"};
    cache.put(key, "tok", 300s, t0);

    CHECK(cache.get(key, t0) == "tok");
    CHECK(cache.get(key, t0 + 269s) == "tok");  // 300 s - 10% = 270 s
    CHECK_FALSE(cache.get(key, t0 + 270s).has_value());
    CHECK(cache.size() == 0);  // the expired entry is gone
}

TEST_CASE("token cache: the margin is 10% of the lifetime, at most 30 s")
{
    token_cache::clock::time_point t0{};
    CHECK(token_cache::usable_until(t0, 60s) == t0 + 54s);
    CHECK(token_cache::usable_until(t0, 300s) == t0 + 270s);
    CHECK(token_cache::usable_until(t0, 3600s) == t0 + 3570s);
}

TEST_CASE("token cache: keyed by registry, identity, realm, service and scope; erase and overwrite")
{
    token_cache cache;
    token_cache::clock::time_point t0{};
    token_key a{"reg", "", "https://r/token", "svc", "repository:a:pull"};
    token_key b{"reg", "", "https://r/token", "svc", "repository:b:pull"};
    token_key c{"reg", "", "https://other/token", "svc", "repository:a:pull"};
    cache.put(a, "ta", 300s, t0);
    cache.put(b, "tb", 300s, t0);
    CHECK(cache.get(a, t0) == "ta");
    CHECK(cache.get(b, t0) == "tb");
    CHECK_FALSE(cache.get(c, t0).has_value());
    // The same realm, service and scope for another registry or another identity is another token.
    CHECK_FALSE(cache.get({"other-reg", "", "https://r/token", "svc", "repository:a:pull"}, t0).has_value());
    CHECK_FALSE(cache.get({"reg", credential_identity("u", "p"), "https://r/token", "svc", "repository:a:pull"}, t0)
                    .has_value());

    cache.erase(a);
    CHECK_FALSE(cache.get(a, t0).has_value());
    CHECK(cache.get(b, t0) == "tb");

    cache.put(b, "tb2", 60s, t0 + 10s);
    CHECK(cache.get(b, t0 + 10s) == "tb2");
    CHECK_FALSE(cache.get(b, t0 + 64s).has_value());
}

TEST_CASE("token cache: put drops entries that expired meanwhile")
{
    token_cache cache;
    token_cache::clock::time_point t0{};
    cache.put({"reg", "", "r", "s", "a"}, "ta", 60s, t0);
    cache.put({"reg", "", "r", "s", "b"}, "tb", 600s, t0);
    CHECK(cache.size() == 2);
    cache.put({"reg", "", "r", "s", "c"}, "tc", 60s, t0 + 100s);
    CHECK(cache.size() == 2);  // "a" expired at 54 s
}

TEST_CASE("token cache: JWTs of one issuer share their stored header; tokens come back whole")
{
    token_cache cache;
    token_cache::clock::time_point t0{};
    const std::string head = "eyJhbGciOiJSUzI1NiIsIng1YyI6WyJNSUlD...";  // stands in for a header with x5c
    cache.put({"reg", "", "r", "s", "a"}, head + ".eyJzdWIiOiJhIn0.c2lnLWE", 300s, t0);
    cache.put({"reg", "", "r", "s", "b"}, head + ".eyJzdWIiOiJiIn0.c2lnLWI", 300s, t0);
    cache.put({"reg", "", "r", "s", "c"}, "eyJvdGhlciI6MX0.eyJzdWIiOiJjIn0.c2lnLWM", 300s, t0);
    cache.put({"reg", "", "r", "s", "d"}, "opaque-token-without-dots", 300s, t0);
    cache.put({"reg", "", "r", "s", "e"}, "one.dot", 300s, t0);
    CHECK(cache.headers() == 2);
    CHECK(cache.get({"reg", "", "r", "s", "a"}, t0) == head + ".eyJzdWIiOiJhIn0.c2lnLWE");
    CHECK(cache.get({"reg", "", "r", "s", "b"}, t0) == head + ".eyJzdWIiOiJiIn0.c2lnLWI");
    CHECK(cache.get({"reg", "", "r", "s", "c"}, t0) == "eyJvdGhlciI6MX0.eyJzdWIiOiJjIn0.c2lnLWM");
    CHECK(cache.get({"reg", "", "r", "s", "d"}, t0) == "opaque-token-without-dots");
    CHECK(cache.get({"reg", "", "r", "s", "e"}, t0) == "one.dot");

    // A header no token uses any more (a rotated signing key) is dropped when a new one comes.
    cache.erase({"reg", "", "r", "s", "c"});
    cache.put({"reg", "", "r", "s", "f"}, "eyJuZXcifQ.eyJzdWIiOiJmIn0.c2ln", 300s, t0);
    CHECK(cache.headers() == 2);
    CHECK(cache.get({"reg", "", "r", "s", "f"}, t0) == "eyJuZXcifQ.eyJzdWIiOiJmIn0.c2ln");
}

TEST_CASE("token cache: credential identity is a SHA-256 of username NUL password, never the secret")
{
    // printf 'alice\0s3cret' | sha256sum
    CHECK(credential_identity("alice", "s3cret") == "13ab6889a5081cba65e79397745ad58731c74472fc0353c02c9136cd13c88b3a");
    CHECK(credential_identity("alice", "s3cret") != credential_identity("alice", "other"));
    CHECK(credential_identity("ab", "c") != credential_identity("a", "bc"));  // NUL separates the two
    CHECK(credential_identity("alice", "s3cret").find("s3cret") == std::string::npos);
}

TEST_CASE("token cache: a lifetime counts for at most an hour")
{
    token_cache cache;
    token_cache::clock::time_point t0{};
    token_key key{"reg", "", "https://r/token", "svc", "repository:a:pull"};
    cache.put(key, "tok", std::chrono::hours(24 * 365), t0);
    CHECK(cache.get(key, t0 + 3569s) == "tok");  // 3600 s - 30 s margin
    CHECK_FALSE(cache.get(key, t0 + 3570s).has_value());
    CHECK(token_cache::usable_until(t0, std::chrono::hours(24)) == t0 + 3570s);
}

TEST_CASE("token cache: bounded; the least recently used entry goes first")
{
    token_cache cache(3);
    token_cache::clock::time_point t0{};
    auto key = [](int n) { return token_key{"reg", "", "https://r/token/" + std::to_string(n), "svc", "scope"}; };
    cache.put(key(1), "t1", 300s, t0);
    cache.put(key(2), "t2", 300s, t0);
    cache.put(key(3), "t3", 300s, t0);
    CHECK(cache.get(key(1), t0) == "t1");  // 1 is now the most recently used; 2 the least
    cache.put(key(4), "t4", 300s, t0);
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.get(key(2), t0).has_value());
    CHECK(cache.get(key(1), t0) == "t1");
    CHECK(cache.get(key(3), t0) == "t3");
    CHECK(cache.get(key(4), t0) == "t4");
    cache.put(key(3), "t3b", 300s, t0);  // overwriting is a use, not a new entry
    CHECK(cache.size() == 3);
    cache.erase(key(1));
    CHECK(cache.size() == 2);

    token_cache big;
    for (int n = 0; n < 5000; ++n)
        big.put(key(n), "eyJoIjoxfQ.eyJuIjoi" + std::to_string(n) + "In0.sig", 86400s, t0);
    CHECK(big.size() == token_cache::default_max_entries);
    CHECK(big.get(key(4999), t0) == "eyJoIjoxfQ.eyJuIjoi4999In0.sig");
    CHECK_FALSE(big.get(key(0), t0).has_value());
}
