#pragma once
// The X-Registry-Auth header value that carries registry credentials to the Docker Engine. Pure.
#include <string>
#include <string_view>

namespace imagewatch::docker {

// URL-safe base64 (with '=' padding) of {"username":..,"password":..,"serveraddress":..}, the form
// the Engine expects in X-Registry-Auth. Returns "" (send no header) when username and password are
// both empty. The result is a secret: never log it.
std::string encode_registry_auth(std::string_view username, std::string_view password, std::string_view serveraddress);

// The same for an identity token (docker login with OAuth2): {"identitytoken":..,"serveraddress":..}.
std::string encode_registry_identity_token(std::string_view token, std::string_view serveraddress);

}  // namespace imagewatch::docker
