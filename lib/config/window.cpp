#include "config/window.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <vector>

namespace imagewatch::config {
namespace {

constexpr std::array<std::string_view, 7> day_names{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::string_view form = " (expected like \"Mon-Fri 02:00-05:00 UTC\" or \"22:00-02:00 +02:00\")";

std::optional<int> day_index(std::string_view s)
{
    const auto it = std::find(day_names.begin(), day_names.end(), ascii_lower(s));
    return it == day_names.end() ? std::nullopt : std::optional<int>(static_cast<int>(it - day_names.begin()));
}

bool digits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// "HH:MM" -> minutes after midnight (24:00 allowed as an end).
std::optional<int> clock_minutes(std::string_view s)
{
    if (s.size() != 5 || s[2] != ':' || !digits(s.substr(0, 2)) || !digits(s.substr(3)))
        return std::nullopt;
    const int h = (s[0] - '0') * 10 + (s[1] - '0');
    const int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return std::nullopt;
    return h * 60 + m;
}

std::optional<int> zone_offset(std::string_view s)
{
    const auto l = ascii_lower(s);
    if (l == "utc" || l == "z")
        return 0;
    std::string_view rest(s);
    if (l.starts_with("utc"))
        rest.remove_prefix(3);
    if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-'))
        return std::nullopt;
    auto hm = clock_minutes(rest.substr(1));
    if (!hm || *hm > 14 * 60)
        return std::nullopt;
    return rest[0] == '-' ? -*hm : *hm;
}

result<std::uint8_t> parse_days(std::string_view s)
{
    unsigned bits = 0;
    for (auto item : split(s, ','))
    {
        auto dash = item.find('-');
        auto from = day_index(item.substr(0, dash));
        auto to = dash == std::string_view::npos ? from : day_index(item.substr(dash + 1));
        if (!from || !to)
            return make_error(errc::invalid_argument, "unknown day or day range \"" + std::string(item) +
                                                          "\" (days are Mon Tue Wed Thu Fri Sat Sun)");
        for (int d = *from;; d = (d + 1) % 7)
        {
            bits |= 1u << d;
            if (d == *to)
                break;
        }
    }
    return static_cast<std::uint8_t>(bits);
}

// `now` in the window's zone: the day since the epoch, and the minute of that day.
std::pair<long long, long long> local_day_minute(const window& w, std::chrono::system_clock::time_point now)
{
    const auto t = std::chrono::floor<std::chrono::minutes>(now.time_since_epoch()) + std::chrono::minutes(w.offset);
    const auto day = std::chrono::floor<std::chrono::days>(t);
    return {day.count(), (t - day).count()};
}

// 1970-01-01 was a Thursday: day 0 of the epoch is index 3 (Monday = 0).
int weekday_of_day(long long day) { return static_cast<int>(((day % 7) + 7 + 3) % 7); }

bool day_allowed(const window& w, long long day) { return (w.days >> weekday_of_day(day)) & 1u; }

}  // namespace

result<window> parse_window(std::string_view text)
{
    auto words = split(text, ' ');
    std::erase(words, std::string_view());  // runs of spaces
    if (words.size() < 2 || words.size() > 3)
        return make_error(errc::invalid_argument, "invalid window \"" + std::string(text) + "\"" + std::string(form));
    window w;
    w.text = std::string(text);
    if (words.size() == 3)
    {
        auto d = parse_days(words[0]);
        if (!d)
            return d.error();
        w.days = *d;
    }
    const auto times = words[words.size() - 2];
    const auto dash = times.find('-');
    auto from = clock_minutes(times.substr(0, dash));
    auto to = dash == std::string_view::npos ? std::nullopt : clock_minutes(times.substr(dash + 1));
    if (!from || !to || *from == 24 * 60)
        return make_error(errc::invalid_argument,
                          "invalid times \"" + std::string(times) + "\" in window" + std::string(form));
    w.start = *from;
    w.end = *to;
    const auto zone = words.back();
    auto off = zone_offset(zone);
    if (!off)
        return make_error(
            errc::invalid_argument,
            "time zone \"" + std::string(zone) +
                "\": write UTC or a fixed offset like +02:00 (named zones are not supported; an offset does not follow "
                "daylight saving time)");
    w.offset = *off;
    return w;
}

bool window_open(const window& w, std::chrono::system_clock::time_point now)
{
    const auto [day, minute] = local_day_minute(w, now);
    if (w.end > w.start)
        return day_allowed(w, day) && minute >= w.start && minute < w.end;
    // Past midnight: open from start today, or until end on the day after an allowed day.
    return (day_allowed(w, day) && minute >= w.start) || (day_allowed(w, day - 1) && minute < w.end);
}

std::chrono::system_clock::time_point window_next_open(const window& w, std::chrono::system_clock::time_point now)
{
    if (window_open(w, now))
        return now;
    const auto [day, minute] = local_day_minute(w, now);
    for (long long d = day; d <= day + 7; ++d)
    {
        const long long opens = d * 1440 + w.start;
        if (opens > day * 1440 + minute && day_allowed(w, d))
            return std::chrono::system_clock::time_point(std::chrono::minutes(opens - w.offset));
    }
    return now;  // no allowed day: unreachable for a parsed window (days is never 0)
}

}  // namespace imagewatch::config
