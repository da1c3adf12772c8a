#include "registry/challenge.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::registry;

TEST_CASE("challenge: registry Bearer challenge with a quoted scope holding a comma")
{
    auto r = parse_challenges(
        R"(Bearer realm="https://registry.test:5001/token",service="e2e-registry",scope="repository:a/b:pull,push")");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 1);
    const auto& c = r->front();
    CHECK(c.scheme == "bearer");
    CHECK(c.is("Bearer"));
    CHECK(c.is("BEARER"));
    CHECK_FALSE(c.is("Basic"));
    CHECK(c.param("realm") == "https://registry.test:5001/token");
    CHECK(c.param("service") == "e2e-registry");
    CHECK(c.param("scope") == "repository:a/b:pull,push");
    CHECK(c.param("error").empty());
}

TEST_CASE("challenge: scheme and parameter names are case-insensitive, values keep their case")
{
    auto r = parse_challenges(R"(bEaReR Realm="https://Auth.Example/Token", SERVICE=Reg)");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].scheme == "bearer");
    CHECK((*r)[0].param("realm") == "https://Auth.Example/Token");
    CHECK((*r)[0].param("service") == "Reg");
}

TEST_CASE("challenge: several challenges in one header, with and without parameters")
{
    auto r = parse_challenges(R"(Basic realm="Registry Realm", Bearer realm="https://a/t",service="s", Negotiate)");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].scheme == "basic");
    CHECK((*r)[0].param("realm") == "Registry Realm");
    CHECK((*r)[1].scheme == "bearer");
    CHECK((*r)[1].param("realm") == "https://a/t");
    CHECK((*r)[1].param("service") == "s");
    CHECK((*r)[2].scheme == "negotiate");
    CHECK((*r)[2].params.empty());
}

TEST_CASE("challenge: escapes in quoted strings, spaces around '=', empty list elements")
{
    auto r = parse_challenges(R"( , Bearer realm = "a \"quoted\" \\ realm" ,, error="insufficient_scope" , )");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].param("realm") == R"(a "quoted" \ realm)");
    CHECK((*r)[0].param("error") == "insufficient_scope");
}

TEST_CASE("challenge: token68 form and a bare scheme")
{
    auto r = parse_challenges("Newauth abc+/9==, Basic");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].scheme == "newauth");
    CHECK((*r)[0].token68 == "abc+/9==");
    CHECK((*r)[1].scheme == "basic");
}

TEST_CASE("challenge: `Bearer realm=` is, by the grammar, a token68; the client then finds no realm")
{
    auto r = parse_challenges("Bearer realm=");
    REQUIRE(r.has_value());
    CHECK((*r)[0].token68 == "realm=");
    CHECK((*r)[0].param("realm").empty());
}

TEST_CASE("challenge: an empty quoted value is allowed")
{
    auto r = parse_challenges(R"(Bearer realm="",service=x)");
    REQUIRE(r.has_value());
    CHECK((*r)[0].param("realm").empty());
    CHECK((*r)[0].params.count("realm") == 1);
}

TEST_CASE("challenge: garbage is an error value that quotes the header")
{
    for (const char* bad : {
             "",
             "   ",
             R"(Bearer realm="unterminated)",
             R"(Bearer realm=,service=x)",
             R"(Bearer realm="a", =x)",
             R"(Bearer =x)",
             R"(Bearer realm="a" junk)",
             R"(Bearer realm="a";service="b")",
             R"("quoted-scheme")",
             "Bearer realm=\"a\x01b\"",
             R"(Bearer realm="a\)",
         })
    {
        std::string text = bad;
        CAPTURE(text);
        auto r = parse_challenges(text);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::bad_response);
        CHECK(r.error().message.find("WWW-Authenticate") != std::string::npos);
    }
}
