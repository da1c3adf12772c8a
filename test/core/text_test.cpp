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

TEST_CASE("valid_utf8 keeps well-formed text, multibyte characters included")
{
    const std::string s =
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 \xef\xbf\xbf \xf4\x8f\xbf\xbf";  // é € 🐳 U+FFFF U+10FFFF
    CHECK(is_valid_utf8(s));
    CHECK(valid_utf8(s) == s);
    CHECK(valid_utf8("") == "");
    CHECK(valid_utf8(std::string_view("a\0b", 3)) == std::string("a\0b", 3));  // NUL is valid; JSON escapes it
}

TEST_CASE("valid_utf8 replaces ill-formed sequences with U+FFFD")
{
    const std::string fffd = "\xef\xbf\xbd";
    CHECK(valid_utf8("a\xff"
                     "b") == "a" + fffd + "b");                          // never valid
    CHECK(valid_utf8("\x80\xbf") == fffd + fffd);                        // stray continuations
    CHECK(valid_utf8("\xc0\xaf") == fffd + fffd);                        // overlong '/'
    CHECK(valid_utf8("\xe0\x80\xaf") == fffd + fffd + fffd);             // overlong, 3 bytes
    CHECK(valid_utf8("\xf0\x80\x80\xaf") == fffd + fffd + fffd + fffd);  // overlong, 4 bytes
    CHECK(valid_utf8("\xed\xa0\x80") == fffd + fffd + fffd);             // surrogate U+D800
    CHECK(valid_utf8("\xf4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
    CHECK(valid_utf8("x\xe2\x82") == "x" + fffd);                        // cut short at the end: one
    CHECK(valid_utf8("\xe2\x82x") == fffd + "x");                        // cut short in the middle
    CHECK(valid_utf8("\xf0\x9f\x90"
                     "\xc3\xa9") == fffd + "\xc3\xa9");  // the next character survives
    for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf5\x80\x80\x80"})
        CHECK_FALSE(is_valid_utf8(bad));
    CHECK(is_valid_utf8(valid_utf8("\xc0\xaf\xed\xa0\x80\xe2\x82")));
}

TEST_CASE("valid_utf8 cuts at a character boundary within max_bytes")
{
    const std::string e = "\xc3\xa9";               // 2 bytes
    CHECK(valid_utf8("ab" + e + "cd", 3) == "ab");  // the limit falls inside é: é goes entirely
    CHECK(valid_utf8("ab" + e + "cd", 4) == "ab" + e);
    CHECK(valid_utf8("ab\xff", 4) == "ab");  // U+FFFD takes 3 bytes: does not fit in 2
    CHECK(valid_utf8("abc", 0) == "");
    CHECK(utf8_excerpt("ab" + e + "cd", 3) == "ab...");
    CHECK(utf8_excerpt("abc", 3) == "abc");
    CHECK(utf8_excerpt("abc\xff", 10) == "abc\xef\xbf\xbd");  // nothing left out: no "..."
}

TEST_CASE("trim, trim_start, trim_end: only the characters named, only at the ends")
{
    CHECK(trim("  a b \r\n") == "a b");
    CHECK(trim(" \t\r\n") == "");
    CHECK(trim("") == "");
    CHECK(trim("\tx\t", " ") == "\tx\t");
    CHECK(trim_start("  x  ") == "x  ");
    CHECK(trim_end("  x  ") == "  x");
    CHECK(trim_end("tok\n\r \n", "\n\r ") == "tok");
    static_assert(trim(" k ") == "k");
}
