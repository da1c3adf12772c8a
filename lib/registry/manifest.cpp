#include "registry/manifest.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace imagewatch::registry {

namespace {

bool is_lower_hex(std::string_view s)
{
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

std::optional<int> number(std::string_view s)
{
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"); the obsolete RFC 850 and asctime forms are
// not sent by registries.
std::optional<std::chrono::system_clock::time_point> parse_imf_fixdate(std::string_view s)
{
    using namespace std::chrono;
    // "Sun, 06 Nov 1994 08:49:37 GMT" is 29 characters with fixed positions.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    unsigned mon = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(8, 3) == months[i])
            mon = i + 1;
    auto d = number(s.substr(5, 2)), y = number(s.substr(12, 4)), h = number(s.substr(17, 2)),
         mi = number(s.substr(20, 2)), sec = number(s.substr(23, 2));
    if (!mon || !d || !y || !h || !mi || !sec)
        return std::nullopt;
    year_month_day ymd{year(*y), month(mon), day(static_cast<unsigned>(*d))};
    if (!ymd.ok() || *h > 23 || *mi > 59 || *sec > 60)
        return std::nullopt;
    return time_point_cast<system_clock::duration>(sys_days(ymd) + hours(*h) + minutes(*mi) + seconds(*sec));
}

}  // namespace

bool is_valid_digest(std::string_view digest)
{
    auto colon = digest.find(':');
    if (colon == std::string_view::npos)
        return false;
    auto algo = digest.substr(0, colon), hex = digest.substr(colon + 1);
    if (algo == "sha256")
        return hex.size() == 64 && is_lower_hex(hex);
    if (algo == "sha512")
        return hex.size() == 128 && is_lower_hex(hex);
    return false;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now)
{
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (value.empty())
        return std::nullopt;
    if (std::isdigit(static_cast<unsigned char>(value.front())))
    {
        long long secs = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
        if (ec != std::errc() || p != value.data() + value.size())
            return std::nullopt;
        return std::chrono::seconds(secs);
    }
    auto when = parse_imf_fixdate(value);
    if (!when)
        return std::nullopt;
    if (*when <= now)
        return std::chrono::seconds(0);
    // Round up: waiting a fraction too long is harmless, too short is another 429.
    return std::chrono::ceil<std::chrono::seconds>(*when - now);
}

}  // namespace imagewatch::registry
