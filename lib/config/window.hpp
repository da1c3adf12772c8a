#pragma once
// Rollout windows: when automatic rollouts may start, written as "Mon-Fri 02:00-05:00 UTC". Pure.
//
// Form: [DAYS ]HH:MM-HH:MM ZONE
//   DAYS  comma-separated days or day ranges (Mon Tue Wed Thu Fri Sat Sun; "Fri-Mon" wraps);
//         absent = every day
//   times the window opens at the first and closes at the second (exclusive); an end at or before
//         the start runs past midnight and belongs to the day it opened on ("Sat 22:00-02:00")
//   ZONE  "UTC" or a fixed offset "+02:00" / "-05:30" (also "UTC+02:00"). A fixed offset does not
//         follow daylight saving time; named zones (Europe/Berlin) are refused rather than guessed.
#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace imagewatch::config {

struct window
{
    std::uint8_t days = 0x7f;  // bit 0 = Monday ... bit 6 = Sunday
    int start = 0;             // minutes after local midnight
    int end = 0;               // minutes after local midnight; <= start: the next day
    int offset = 0;            // the zone's offset from UTC in minutes
    std::string text;          // as written, for logs and status
    friend bool operator==(const window&, const window&) = default;
};

// Errors name the part that is wrong and the accepted form.
result<window> parse_window(std::string_view text);

// Whether `now` falls inside the window.
bool window_open(const window& w, std::chrono::system_clock::time_point now);

// The next time the window opens after `now` (now itself when it is open).
std::chrono::system_clock::time_point window_next_open(const window& w, std::chrono::system_clock::time_point now);

}  // namespace imagewatch::config
