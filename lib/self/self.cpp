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

constexpr std::string_view hex_digits = "0123456789abcdef";

// The last run of exactly 64 lower-case hex digits in s (bounded by non-hex characters).
std::string last_full_id(std::string_view s)
{
    std::string found;
    for (auto i = s.find_first_of(hex_digits); i != std::string_view::npos;)
    {
        const auto end = std::min(s.find_first_not_of(hex_digits, i), s.size());
        if (end - i == full_len)
            found = std::string(s.substr(i, full_len));
        i = s.find_first_of(hex_digits, end);
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
        for (auto& field : f)
        {
            line = trim_start(line, " ");
            if (line.empty())
                return {};
            field = line.substr(0, line.find(' '));
            line.remove_prefix(field.size());
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
    if (h.size() == short_len && h.find_first_not_of(hex_digits) == std::string_view::npos)
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
    const auto shorter = std::min(self_id.size(), container_id.size());
    return shorter >= short_len && self_id.substr(0, shorter) == container_id.substr(0, shorter);
}

}  // namespace imagewatch::self
