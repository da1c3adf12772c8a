#include "core/text.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <utility>

namespace imagewatch {

std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = ascii_lower(c);
    return out;
}

bool iequals_ascii(std::string_view a, std::string_view b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string hex_lower(const unsigned char* data, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i)
    {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0x0f];
    }
    return out;
}

std::string format_bytes(std::uint64_t n)
{
    if (n < 1024)
        return std::to_string(n) + "B";
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n) / 1024;
    std::size_t u = 0;
    // 1023.96 KiB would print as "1024.0KiB": move up a unit where rounding would reach 1024.
    while (v >= 1023.95 && u + 1 < std::size(units))
    {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%s", v, units[u]);
    return buf;
}

namespace {

constexpr std::string_view replacement = "\xef\xbf\xbd";  // U+FFFD

// The length of the well-formed character at the start of s (1..4), or 0 when s does not start with
// one; then *bad holds the length of the maximal ill-formed prefix to replace by one U+FFFD (Unicode
// "best practice": a sequence cut short counts once, a stray byte once each).
std::size_t char_length(std::string_view s, std::size_t* bad)
{
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    *bad = 1;
    if (c < 0x80)
        return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte; later ones are always 80..bf
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
    {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;  // below: overlong
        else if (c == 0xed)
            hi = 0x9f;  // above: surrogates
    }
    else if (c >= 0xf0 && c <= 0xf4)
    {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;  // below: overlong
        else if (c == 0xf4)
            hi = 0x8f;  // above: past U+10FFFF
    }
    else
        return 0;  // 80..c1 (continuation or overlong lead), f5..ff
    for (std::size_t i = 1; i < len; ++i)
        if (i >= s.size() || b(i) < (i == 1 ? lo : 0x80) || b(i) > (i == 1 ? hi : 0xbf))
        {
            *bad = i;  // cut short, or a byte out of range
            return 0;
        }
    return len;
}

// valid_utf8, and whether all of s went in.
std::pair<std::string, bool> sanitize(std::string_view s, std::size_t max_bytes)
{
    std::string out;
    out.reserve(std::min(s.size(), max_bytes));
    std::size_t i = 0;
    while (i < s.size())
    {
        std::size_t bad = 0;
        const std::size_t len = char_length(s.substr(i), &bad);
        const std::string_view piece = len ? s.substr(i, len) : replacement;
        if (piece.size() > max_bytes - out.size())
            return {std::move(out), false};
        out += piece;
        i += len ? len : bad;
    }
    return {std::move(out), true};
}

}  // namespace

bool is_valid_utf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();)
    {
        std::size_t bad = 0;
        const std::size_t len = char_length(s.substr(i), &bad);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

std::string valid_utf8(std::string_view s, std::size_t max_bytes) { return sanitize(s, max_bytes).first; }

std::string utf8_excerpt(std::string_view s, std::size_t max_bytes)
{
    auto [out, whole] = sanitize(s, max_bytes);
    return whole ? std::move(out) : std::move(out) + "...";
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> parts;
    for (auto at = s.find(sep); at != std::string_view::npos; at = s.find(sep))
    {
        parts.push_back(s.substr(0, at));
        s.remove_prefix(at + 1);
    }
    parts.push_back(s);
    return parts;
}

}  // namespace imagewatch
