#include "docker/registry_auth.hpp"

#include "core/base64.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::docker {

std::string encode_registry_auth(std::string_view username, std::string_view password, std::string_view serveraddress)
{
    if (username.empty() && password.empty())
        return {};
    const boost::json::object o{{"username", username}, {"password", password}, {"serveraddress", serveraddress}};
    return base64url_encode(boost::json::serialize(o));
}

std::string encode_registry_identity_token(std::string_view token, std::string_view serveraddress)
{
    if (token.empty())
        return {};
    const boost::json::object o{{"identitytoken", token}, {"serveraddress", serveraddress}};
    return base64url_encode(boost::json::serialize(o));
}

}  // namespace imagewatch::docker
