#include "core/host_port.hpp"

#include <charconv>

namespace imagewatch {

result<host_port> split_host_port(std::string_view s)
{
    host_port out;
    out.host = s;
    if (s.starts_with('['))
    {
        auto close = s.find(']');
        if (close == std::string_view::npos)
            return make_error(errc::invalid_argument, "missing ']' after the IPv6 address");
        out.bracketed = true;
        out.host = s.substr(1, close - 1);
        auto rest = s.substr(close + 1);
        if (rest.empty())
            return out;
        if (rest.front() != ':')
            return make_error(errc::invalid_argument, "expected :port after the [IPv6] address");
        out.has_port = true;
        out.port = rest.substr(1);
        return out;
    }
    if (auto colon = s.rfind(':'); colon != std::string_view::npos)
    {
        out.host = s.substr(0, colon);
        out.port = s.substr(colon + 1);
        out.has_port = true;
    }
    return out;
}

result<std::uint16_t> parse_port(std::string_view port)
{
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
        return make_error(errc::invalid_argument, "port \"" + std::string(port) + "\": not a number from 1 to 65535");
    return static_cast<std::uint16_t>(value);
}

}  // namespace imagewatch
