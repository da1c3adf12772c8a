#pragma once
// Base64 (RFC 4648): the standard alphabet for HTTP Basic and docker config "auth" values, the
// URL-safe one for Docker's X-Registry-Auth header. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch {

// Standard alphabet (A-Z a-z 0-9 + /), '=' padded to a multiple of 4.
std::string base64_encode(std::string_view bytes);

// URL-safe alphabet (A-Z a-z 0-9 - _), still '=' padded, as the Docker Engine expects.
std::string base64url_encode(std::string_view bytes);

// Decodes the standard alphabet; padding optional, ASCII whitespace ignored. nullopt on a character
// outside the alphabet, data after padding, or a lone trailing character.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace imagewatch
