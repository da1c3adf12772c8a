#include "docker/registry_auth.hpp"

#include "core/base64.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace imagewatch;

namespace {

// The URL-safe alphabet mapped back to the standard one, so the production decoder reads it.
std::string base64url_decode(std::string s)
{
    std::replace(s.begin(), s.end(), '-', '+');
    std::replace(s.begin(), s.end(), '_', '/');
    auto out = base64_decode(s);
    REQUIRE(out.has_value());
    return *out;
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
