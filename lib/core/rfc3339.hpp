#pragma once
// RFC 3339 timestamps as registries and Docker write them. Pure.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch {

// "2024-05-01T12:00:00Z", "…T12:00:00.123456+02:00" (token issued_at, an image's Created).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

// "2026-12-07T01:05:00Z": UTC, whole seconds (the status answer's timestamps); with_ms:
// "2026-12-07T01:05:00.042Z" (notification timestamps).
std::string format_rfc3339(std::chrono::system_clock::time_point tp, bool with_ms = false);

}  // namespace imagewatch
