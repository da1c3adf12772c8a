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

TEST_CASE("format_bytes: binary units, one decimal, no 1024.0 of a unit")
{
    CHECK(format_bytes(0) == "0B");
    CHECK(format_bytes(1023) == "1023B");
    CHECK(format_bytes(1024) == "1.0KiB");
    CHECK(format_bytes(1536) == "1.5KiB");
    CHECK(format_bytes(12'900'000) == "12.3MiB");
    CHECK(format_bytes(42'047'283) == "40.1MiB");
    CHECK(format_bytes(1024 * 1024 - 1) == "1.0MiB");
    CHECK(format_bytes(3ull * 1024 * 1024 * 1024) == "3.0GiB");
    CHECK(format_bytes(5000ull * 1024 * 1024 * 1024 * 1024) == "5000.0TiB");
}
