#include "core/log.hpp"

#include "core/rfc3339.hpp"

#include <chrono>
#include <cstdio>

namespace imagewatch::log {
namespace {

struct state
{
    level min = level::info;
    format fmt = format::text;
    sink out;
};

state& st()
{
    static state s;
    return s;
}

std::string_view name(level lv)
{
    switch (lv)
    {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    }
    return "info";
}

void append_json_string(std::string& out, std::string_view s)
{
    out += '"';
    for (char c : s)
    {
        switch (c)
        {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
            {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            }
            else
                out += c;
        }
    }
    out += '"';
}

// logfmt: bare when safe, else quoted with escapes.
void append_logfmt_value(std::string& out, std::string_view s)
{
    bool bare = !s.empty();
    for (char c : s)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x21)
            bare = false;
    if (bare)
        out += s;
    else
        append_json_string(out, s);
}

}  // namespace

void configure(level min_level, format fmt)
{
    st().min = min_level;
    st().fmt = fmt;
}

void set_sink(sink s) { st().out = std::move(s); }

level min_level() { return st().min; }

bool parse_level(std::string_view s, level& out)
{
    for (level lv : {level::debug, level::info, level::warn, level::error})
        if (s == name(lv))
        {
            out = lv;
            return true;
        }
    return false;
}

bool parse_format(std::string_view s, format& out)
{
    if (s == "text")
        out = format::text;
    else if (s == "json")
        out = format::json;
    else
        return false;
    return true;
}

std::string render(format fmt, std::string_view ts, level lv, std::string_view msg, std::initializer_list<field> fields)
{
    const bool json = fmt == format::json;
    std::string line(json ? "{" : "");
    line.reserve(128);
    const auto add = [&](std::string_view key, std::string_view value) {
        if (json)
        {
            if (line.size() > 1)
                line += ',';
            append_json_string(line, key);
            line += ':';
            append_json_string(line, value);
            return;
        }
        if (!line.empty())
            line += ' ';
        line.append(key).append("=");
        append_logfmt_value(line, value);
    };
    add("ts", ts);
    add("level", name(lv));
    add("msg", msg);
    for (const auto& f : fields)
        add(f.key, f.value);
    if (json)
        line += '}';
    return line;
}

void write(level lv, std::string_view msg, std::initializer_list<field> fields)
{
    if (lv < st().min)
        return;
    std::string line = render(st().fmt, format_rfc3339(std::chrono::system_clock::now(), true), lv, msg, fields);
    if (st().out)
        st().out(line);
    else
    {
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
}

std::string short_digest(std::string_view digest)
{
    auto colon = digest.find(':');
    if (colon == std::string_view::npos || digest.size() - colon - 1 < 12)
        return std::string(digest);
    return std::string(digest.substr(0, colon + 1 + 12));
}

}  // namespace imagewatch::log
