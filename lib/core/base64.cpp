#include "core/base64.hpp"

#include <algorithm>
#include <array>

namespace imagewatch {
namespace {

constexpr std::string_view standard_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, std::string_view alphabet)
{
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    // Each group of len (1..3) bytes becomes len + 1 characters, padded with '=' to 4.
    for (std::size_t i = 0; i < in.size(); i += 3)
    {
        const std::size_t len = std::min<std::size_t>(3, in.size() - i);
        unsigned n = 0;
        for (std::size_t k = 0; k < 3; ++k)
            n = n << 8 | (k < len ? unsigned{static_cast<unsigned char>(in[i + k])} : 0u);
        for (std::size_t k = 0; k < 4; ++k)
            out.push_back(k <= len ? alphabet[(n >> (18 - 6 * k)) & 63u] : '=');
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, standard_alphabet); }

std::string base64url_encode(std::string_view bytes) { return encode(bytes, url_alphabet); }

std::optional<std::string> base64_decode(std::string_view in)
{
    std::array<int, 256> rev{};
    rev.fill(-1);
    for (std::size_t i = 0; i < standard_alphabet.size(); ++i)
        rev[static_cast<unsigned char>(standard_alphabet[i])] = static_cast<int>(i);

    std::string out;
    unsigned buf = 0;
    int bits = 0;
    bool padding = false;
    for (char c : in)
    {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=')
        {
            padding = true;
            continue;
        }
        int v = rev[static_cast<unsigned char>(c)];
        if (v < 0 || padding)
            return std::nullopt;
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xffu));
        }
    }
    if (bits >= 6)  // a lone trailing character cannot encode a byte
        return std::nullopt;
    return out;
}

}  // namespace imagewatch
