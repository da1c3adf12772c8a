#pragma once
// Small ASCII text helpers shared by the parsers: case folding and hex digests. Pure and
// locale-free (only 'A'..'Z' fold; every other byte, UTF-8 included, passes through).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace imagewatch {

// 'A'..'Z' -> 'a'..'z'; any other byte unchanged.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// s with 'A'..'Z' folded to lower case; any other byte unchanged.
std::string ascii_lower(std::string_view s);

// True when a and b have the same length and are equal after ASCII lower-casing.
bool iequals_ascii(std::string_view a, std::string_view b);

// Two lower-case hex digits per byte: {0xab, 0x01} -> "ab01".
std::string hex_lower(const unsigned char* data, std::size_t n);
std::string hex_lower(std::string_view bytes);

// Byte counts for people, binary units with one decimal: 512 -> "512B", 12900000 -> "12.3MiB".
std::string format_bytes(std::uint64_t n);

}  // namespace imagewatch
