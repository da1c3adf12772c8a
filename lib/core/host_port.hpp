#pragma once
// Splitting "host", "host:port", "[v6]" and "[v6]:port". Pure. Every address the daemon reads (a
// registry, docker.host, admin.listen, a webhook) goes through this one rule; the callers decide
// what a missing port or an odd host means for them.
#include "core/error.hpp"

#include <cstdint>
#include <string_view>

namespace imagewatch {

struct host_port
{
    std::string_view host;   // without brackets
    std::string_view port;   // empty when there is none (or it is empty after ':')
    bool bracketed = false;  // "[...]": an IPv6 literal by intent
    bool has_port = false;   // a ':' followed the host, even with nothing after it
};

// An unbracketed host keeps everything up to the last ':' ("::1" is host ":" and port "1"; an IPv6
// literal needs brackets). Fails (errc::invalid_argument) on '[' without ']' or anything but
// ":port" after ']'; the message names no input (the caller adds which setting it was).
result<host_port> split_host_port(std::string_view s);

// "443" -> 443; anything but a decimal number 1..65535 fails (errc::invalid_argument).
result<std::uint16_t> parse_port(std::string_view port);

}  // namespace imagewatch
