#include "core/rfc3339.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace imagewatch {
namespace {

// The n digits at s[at..] as a number, or -1 when they are not all there.
int digits(std::string_view s, std::size_t at, std::size_t n)
{
    if (at + n > s.size())
        return -1;
    int out = 0;
    for (char c : s.substr(at, n))
    {
        if (c < '0' || c > '9')
            return -1;
        out = out * 10 + (c - '0');
    }
    return out;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s)
{
    using namespace std::chrono;
    // "2024-05-01T12:00:00" at fixed positions, then an optional fraction and "Z" or "+hh:mm".
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
              mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (std::min({y, mo, d, h, mi, sec}) < 0 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return std::nullopt;
    std::size_t i = 19;
    nanoseconds frac{0};
    if (i < s.size() && s[i] == '.')
    {
        ++i;
        long long scale = 100'000'000, n = 0;
        std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
        {
            n += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == start)
            return std::nullopt;
        frac = nanoseconds(n);
    }
    minutes offset{0};
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z'))
        ++i;
    else if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    {
        const int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
        if (oh < 0 || om < 0 || s[i + 3] != ':')
            return std::nullopt;
        offset = minutes((s[i] == '-' ? -1 : 1) * (oh * 60 + om));
        i += 6;
    }
    else
        return std::nullopt;
    if (i != s.size())
        return std::nullopt;

    year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!ymd.ok() || y < 1900 || y > 2200 || h > 23 || mi > 59 || sec > 60)  // in range of system_clock (ns)
        return std::nullopt;
    auto tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) - offset;
    return time_point_cast<system_clock::duration>(tp + frac);
}

std::string format_rfc3339(std::chrono::system_clock::time_point tp, bool with_ms)
{
    std::time_t t = std::chrono::system_clock::to_time_t(tp);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    if (with_ms)
    {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
        std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms < 0 ? ms + 1000 : ms));
        out += buf;
    }
    return out + 'Z';
}

}  // namespace imagewatch
