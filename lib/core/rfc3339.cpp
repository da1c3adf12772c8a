#include "core/rfc3339.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace imagewatch {
namespace {

// Reads exactly n digits at s[i..]; advances i.
bool digits(std::string_view s, std::size_t& i, std::size_t n, int& out)
{
    if (i + n > s.size())
        return false;
    out = 0;
    for (std::size_t k = 0; k < n; ++k)
    {
        char c = s[i + k];
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + (c - '0');
    }
    i += n;
    return true;
}

bool expect(std::string_view s, std::size_t& i, char c)
{
    if (i >= s.size() || s[i] != c)
        return false;
    ++i;
    return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s)
{
    using namespace std::chrono;
    std::size_t i = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!digits(s, i, 4, y) || !expect(s, i, '-') || !digits(s, i, 2, mo) || !expect(s, i, '-') || !digits(s, i, 2, d))
        return std::nullopt;
    if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        return std::nullopt;
    ++i;
    if (!digits(s, i, 2, h) || !expect(s, i, ':') || !digits(s, i, 2, mi) || !expect(s, i, ':') ||
        !digits(s, i, 2, sec))
        return std::nullopt;
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
        int sign = s[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0, om = 0;
        if (!digits(s, i, 2, oh) || !expect(s, i, ':') || !digits(s, i, 2, om))
            return std::nullopt;
        offset = minutes(sign * (oh * 60 + om));
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
