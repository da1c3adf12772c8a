#include "core/base64.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

// Moved from test/registry/credentials_test.cpp with the implementation.
TEST_CASE("base64 round trip and bad input")
{
    CHECK(base64_encode("admin:secret") == "YWRtaW46c2VjcmV0");
    CHECK(base64_encode("a") == "YQ==");
    CHECK(base64_encode("ab") == "YWI=");
    CHECK(base64_decode("YWRtaW46c2VjcmV0") == "admin:secret");
    CHECK(base64_decode("YQ==") == "a");
    CHECK(base64_decode("YQ") == "a");
    CHECK(base64_decode("YW\nI=") == "ab");
    CHECK_FALSE(base64_decode("Y").has_value());
    CHECK_FALSE(base64_decode("YQ==YQ").has_value());
    CHECK_FALSE(base64_decode("a*b").has_value());
}

// Moved from test/docker/registry_auth_test.cpp with the implementation.
TEST_CASE("base64url_encode: padding")
{
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg==");
    CHECK(base64url_encode("fo") == "Zm8=");
    CHECK(base64url_encode("foo") == "Zm9v");
    CHECK(base64url_encode("\xfb\xff") == "-_8=");
}

TEST_CASE("the two alphabets differ only in the last two characters")
{
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("\xfb\xff") == "+/8=");
    CHECK(base64_encode("foo") == base64url_encode("foo"));
    CHECK(base64_decode("+/8=") == "\xfb\xff");
    CHECK_FALSE(base64_decode("-_8=").has_value());  // decode takes the standard alphabet only
}
