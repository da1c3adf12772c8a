#include "core/duration.hpp"

#include <cstdint>

namespace imagewatch {

result<duration> parse_duration(std::string_view s)
{
    const auto bad = [&](std::string why) {
        return make_error(errc::invalid_argument, "invalid duration \"" + std::string(s) + "\": " + why +
                                                      " (use e.g. \"250ms\", \"30s\", \"5m\", \"1h\")");
    };
    if (s.empty())
        return bad("empty");
    const auto too_large = [&] { return bad("too large (at most " + format_duration(max_duration) + ")"); };
    // Every step is checked against the maximum before it is taken, so nothing can overflow.
    constexpr std::int64_t max_ms = max_duration.count();
    std::int64_t total_ms = 0;
    std::size_t i = 0;
    while (i < s.size())
    {
        if (s[i] < '0' || s[i] > '9')
            return bad("expected a number");
        std::int64_t n = 0;
        bool over = false;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        {
            if (!over)
            {
                n = n * 10 + (s[i] - '0');
                over = n > max_ms;
            }
            ++i;
        }
        std::size_t u = i;
        while (i < s.size() && (s[i] < '0' || s[i] > '9'))
            ++i;
        std::string_view unit = s.substr(u, i - u);
        const std::int64_t mul = unit == "ms"  ? 1
                                 : unit == "s" ? 1000
                                 : unit == "m" ? 60'000
                                 : unit == "h" ? 3'600'000
                                               : 0;
        if (mul == 0)
            return bad(unit.empty() ? "missing unit" : "unknown unit \"" + std::string(unit) + "\"");
        if (over || n > (max_ms - total_ms) / mul)
            return too_large();
        total_ms += n * mul;
    }
    return duration(total_ms);
}

std::string format_duration(std::chrono::steady_clock::duration d)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms == 0)
        return "0s";
    std::string out;
    if (ms < 0)
    {
        out = "-";
        ms = -ms;
    }
    if (ms % 1000 != 0 && ms < 60'000)
        return out + std::to_string(ms) + "ms";
    auto h = ms / 3'600'000;
    auto m = ms / 60'000 % 60;
    auto s = ms / 1000 % 60;
    auto rest = ms % 1000;
    if (h)
        out += std::to_string(h) + "h";
    if (m)
        out += std::to_string(m) + "m";
    if (s)
        out += std::to_string(s) + "s";
    if (rest)
        out += std::to_string(rest) + "ms";
    return out;
}

}  // namespace imagewatch
