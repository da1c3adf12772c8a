#include "self/self.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace imagewatch::self {
namespace {

constexpr std::size_t full_len = 64;
constexpr std::size_t short_len = 12;

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The last run of exactly 64 lower-case hex digits in s (bounded by non-hex characters).
std::string last_full_id(std::string_view s)
{
    std::string found;
    std::size_t i = 0;
    while (i < s.size())
    {
        if (!is_hex(s[i]))
        {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < s.size() && is_hex(s[j]))
            ++j;
        if (j - i == full_len)
            found = std::string(s.substr(i, full_len));
        i = j;
    }
    return found;
}

// The first id that `in_line` finds in a line of text, or "".
template <class F>
std::string first_id(std::string_view text, F&& in_line)
{
    while (!text.empty())
    {
        auto nl = text.find('\n');
        if (std::string id = in_line(text.substr(0, nl)); !id.empty())
            return id;
        if (nl == std::string_view::npos)
            break;
        text.remove_prefix(nl + 1);
    }
    return {};
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + i + 1, s.begin() + i + 4, [](char c) { return c >= '0' && c <= '7'; }))
        {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        }
        else
            out += s[i];
    }
    return out;
}

}  // namespace

std::string id_from_cgroup(std::string_view text)
{
    return first_id(text, [](std::string_view line) -> std::string {
        // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
        auto a = line.find(':');
        if (a == std::string_view::npos)
            return {};
        auto b = line.find(':', a + 1);
        if (b == std::string_view::npos)
            return {};
        return last_full_id(line.substr(b + 1));
    });
}

std::string id_from_mountinfo(std::string_view text)
{
    static constexpr std::array<std::string_view, 3> points = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    return first_id(text, [](std::string_view line) -> std::string {
        // mount-ID parent-ID major:minor root mount-point options ... - fstype source super-options
        std::array<std::string_view, 5> f{};
        std::size_t n = 0;
        while (n < f.size())
        {
            while (!line.empty() && line.front() == ' ')
                line.remove_prefix(1);
            if (line.empty())
                return {};
            auto sp = line.find(' ');
            f[n++] = line.substr(0, sp);
            line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
        }
        const std::string mount_point = unescape(f[4]);
        if (std::find(points.begin(), points.end(), mount_point) == points.end())
            return {};
        const std::string root = unescape(f[3]);
        // The source is a file in the container's directory: .../<id>/hostname or .../<id>/userdata/hostname.
        auto slash = root.rfind('/');
        if (slash == std::string::npos)
            return {};
        return last_full_id(std::string_view(root).substr(0, slash));
    });
}

std::string id_from_hostname(std::string_view hostname)
{
    const auto h = trim_start(trim_end(hostname, "\n\r \t"), " \t");
    if (h.size() == short_len && std::all_of(h.begin(), h.end(), is_hex))
        return std::string(h);
    return {};
}

file_reader real_files()
{
    return [](const std::string& path) -> std::optional<std::string> {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            return std::nullopt;
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad())
            return std::nullopt;
        return ss.str();
    };
}

identity detect(const file_reader& read)
{
    if (auto t = read("/proc/self/cgroup"))
        if (auto id = id_from_cgroup(*t); !id.empty())
            return {id, "cgroup"};
    if (auto t = read("/proc/self/mountinfo"))
        if (auto id = id_from_mountinfo(*t); !id.empty())
            return {id, "mountinfo"};
    if (read("/.dockerenv") || read("/run/.containerenv"))
    {
        for (const char* path : {"/proc/sys/kernel/hostname", "/etc/hostname"})
            if (auto t = read(path))
            {
                if (auto id = id_from_hostname(*t); !id.empty())
                    return {id, "hostname"};
                break;
            }
    }
    return {};
}

bool is_self(std::string_view self_id, std::string_view container_id)
{
    if (self_id.empty() || container_id.empty())
        return false;
    const auto shorter = std::min(self_id.size(), container_id.size());
    if (shorter < short_len)
        return false;
    return self_id.substr(0, shorter) == container_id.substr(0, shorter);
}

}  // namespace imagewatch::self
