#pragma once
// RFC 3339 timestamps as registries and Docker write them. Pure.
#include <chrono>
#include <optional>
#include <string_view>

namespace imagewatch {

// "2024-05-01T12:00:00Z", "…T12:00:00.123456+02:00" (token issued_at, an image's Created).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

}  // namespace imagewatch
