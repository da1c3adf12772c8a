#include "docker/registry_auth.hpp"

#include "core/base64.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::docker {

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
