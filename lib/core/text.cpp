#include "core/text.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>

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
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return ascii_lower(x) == ascii_lower(y);
    });
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

std::string hex_lower(std::string_view bytes)
{
    return hex_lower(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
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

}  // namespace imagewatch
