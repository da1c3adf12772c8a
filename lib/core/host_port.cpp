#include "core/host_port.hpp"

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

}  // namespace imagewatch
