#pragma once
// Durations as operators write them in the config file: "250ms", "30s", "5m", "1h". Pure.
#include "core/error.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace imagewatch {

using duration = std::chrono::milliseconds;

// The longest duration the config accepts: a year is more than any interval or timeout needs, and
// every deadline computed from one (now() + d, in nanoseconds) stays far from overflowing.
inline constexpr duration max_duration = std::chrono::hours(24 * 365);

// Parses "<digits><unit>" with unit ms|s|m|h (also combined like "1m30s"). Rejects empty,
// negative, unknown units and anything over max_duration ("8760h") with a message that names the
// accepted forms.
result<duration> parse_duration(std::string_view s);

// Inverse for logs and status: 90000ms -> "1m30s", 250ms -> "250ms", 0 -> "0s".
std::string format_duration(std::chrono::steady_clock::duration d);

}  // namespace imagewatch
