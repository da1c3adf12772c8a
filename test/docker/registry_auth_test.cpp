#include "docker/registry_auth.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace imagewatch;

namespace {

std::string base64url_decode(std::string_view s)
{
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '-') return 62;
        if (c == '_') return 63;
        return -1;
    };
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : s)
    {
        if (c == '=')
            break;
        int v = val(c);
        REQUIRE(v >= 0);
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace

// The X-Registry-Auth payload decodes back to Docker's AuthConfig JSON.
TEST_CASE("encode_registry_auth: URL-safe base64 of username/password/serveraddress")
{
    std::string h = docker::encode_registry_auth("bot", "ghp_?>?>secret/+", "ghcr.io");
    REQUIRE_FALSE(h.empty());
    CHECK(h.find_first_of("+/") == std::string::npos);
    CHECK(h.size() % 4 == 0);
    auto v = boost::json::parse(base64url_decode(h)).as_object();
    CHECK(v.size() == 3);
    CHECK(v.at("username") == "bot");
    CHECK(v.at("password") == "ghp_?>?>secret/+");
    CHECK(v.at("serveraddress") == "ghcr.io");
}

// No credentials: no header at all.
TEST_CASE("encode_registry_auth: empty credentials give an empty string")
{
    CHECK(docker::encode_registry_auth("", "", "ghcr.io").empty());
}

TEST_CASE("encode_registry_identity_token: identitytoken + serveraddress, empty token gives no header")
{
    std::string h = docker::encode_registry_identity_token("tok", "ghcr.io");
    CHECK_FALSE(h.empty());
    CHECK(h.find('+') == std::string::npos);
    CHECK(h.find('/') == std::string::npos);
    CHECK(docker::encode_registry_identity_token("", "ghcr.io").empty());
}
