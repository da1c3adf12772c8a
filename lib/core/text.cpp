#include "core/text.hpp"

#include <algorithm>

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

}  // namespace imagewatch
