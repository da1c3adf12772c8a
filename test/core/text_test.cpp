#include "core/text.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace imagewatch;

TEST_CASE("ascii_lower folds A-Z only")
{
    CHECK(ascii_lower('A') == 'a');
    CHECK(ascii_lower('Z') == 'z');
    CHECK(ascii_lower('a') == 'a');
    CHECK(ascii_lower('@') == '@');
    CHECK(ascii_lower('[') == '[');
    CHECK(ascii_lower("Registry-1.Docker.IO:443") == "registry-1.docker.io:443");
    CHECK(ascii_lower("") == "");
    CHECK(ascii_lower("\xc3\x84") == "\xc3\x84");  // UTF-8 "Ä" passes through untouched
    CHECK(ascii_lower(std::string_view("A\0B", 3)) == std::string("a\0b", 3));
}

TEST_CASE("iequals_ascii ignores ASCII case, nothing else")
{
    CHECK(iequals_ascii("Bearer ", "bearer "));
    CHECK(iequals_ascii("", ""));
    CHECK_FALSE(iequals_ascii("bearer", "bearer "));
    CHECK_FALSE(iequals_ascii("bearer", "bearex"));
    CHECK_FALSE(iequals_ascii("\xc3\x84", "\xc3\xa4"));
}

TEST_CASE("hex_lower writes two lower-case digits per byte")
{
    const unsigned char bytes[] = {0x00, 0x0f, 0xab, 0xff};
    CHECK(hex_lower(bytes, 4) == "000fabff");
    CHECK(hex_lower(bytes, 0) == "");
    CHECK(hex_lower(std::string_view("\x01\xfe", 2)) == "01fe");
}
