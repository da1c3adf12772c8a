#include "docker/registry_auth.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::docker {

std::string base64url_encode(std::string_view bytes)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3)
    {
        unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                     static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    std::size_t rest = bytes.size() - i;
    if (rest > 0)
    {
        unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2)
            v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string encode_registry_auth(std::string_view username, std::string_view password, std::string_view serveraddress)
{
    if (username.empty() && password.empty())
        return {};
    boost::json::object o;
    o["username"] = username;
    o["password"] = password;
    o["serveraddress"] = serveraddress;
    return base64url_encode(boost::json::serialize(o));
}

std::string encode_registry_identity_token(std::string_view token, std::string_view serveraddress)
{
    if (token.empty())
        return {};
    boost::json::object o;
    o["identitytoken"] = token;
    o["serveraddress"] = serveraddress;
    return base64url_encode(boost::json::serialize(o));
}

}  // namespace imagewatch::docker
