#pragma once
// Small text helpers shared by the parsers: ASCII case folding, hex digests, and making outside
// bytes valid UTF-8 before they reach JSON. Pure and locale-free (only 'A'..'Z' fold; every other
// byte, UTF-8 included, passes through).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch {

// 'A'..'Z' -> 'a'..'z'; any other byte unchanged.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// s with 'A'..'Z' folded to lower case; any other byte unchanged.
std::string ascii_lower(std::string_view s);

// True when a and b have the same length and are equal after ASCII lower-casing.
bool iequals_ascii(std::string_view a, std::string_view b);

// Two lower-case hex digits per byte: {0xab, 0x01} -> "ab01".
std::string hex_lower(const unsigned char* data, std::size_t n);

// Byte counts for people, binary units with one decimal: 512 -> "512B", 12900000 -> "12.3MiB".
std::string format_bytes(std::uint64_t n);

// Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// s as well-formed UTF-8 of at most max_bytes bytes: each ill-formed sequence (a stray byte, an
// overlong form, a surrogate, a sequence cut short) becomes U+FFFD, and the text is cut before the
// first character that does not fit, never inside one. Registry and Docker bytes go through this
// before they enter error messages: JSON answers must be valid UTF-8, and Boost.JSON serializes a
// string's bytes as they are.
std::string valid_utf8(std::string_view s, std::size_t max_bytes = std::string_view::npos);

// valid_utf8(s, max_bytes), plus "..." when something was left out.
std::string utf8_excerpt(std::string_view s, std::size_t max_bytes);

// s cut at every `sep`, empty parts kept: "a..b" -> "a", "", "b"; "" -> one empty part.
std::vector<std::string_view> split(std::string_view s, char sep);

// s without the leading, trailing, or both, characters that are in `chars`.
constexpr std::string_view trim_start(std::string_view s, std::string_view chars = " \t\r\n")
{
    const auto b = s.find_first_not_of(chars);
    return b == std::string_view::npos ? std::string_view() : s.substr(b);
}
constexpr std::string_view trim_end(std::string_view s, std::string_view chars = " \t\r\n")
{
    const auto e = s.find_last_not_of(chars);
    return e == std::string_view::npos ? std::string_view() : s.substr(0, e + 1);
}
constexpr std::string_view trim(std::string_view s, std::string_view chars = " \t\r\n")
{
    return trim_end(trim_start(s, chars), chars);
}

}  // namespace imagewatch
