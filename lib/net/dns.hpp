#pragma once
// Host name lookups for outgoing connections, on the caller's io_context. I/O; c-ares stays in
// dns.cpp.
//
// The system resolver (getaddrinfo) blocks a thread per lookup and cannot be stopped, so one name
// whose DNS never answers would hold up every lookup queued behind it. Here lookups run
// concurrently on the io_context's own thread (c-ares sockets watched by the io_context), each
// caller waits only until its own deadline, and a second caller of a name already being looked up
// joins that lookup instead of asking again. /etc/hosts is read first (nsswitch order), then the
// name servers of /etc/resolv.conf (re-read when the file changes). Answers are cached for their
// TTL (dns_cache.hpp).
#include "core/awaitable.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::net {

using endpoints = std::vector<asio::ip::tcp::endpoint>;

// The endpoints of host ("registry.test", "127.0.0.1", "::1" or "[::1]") at port ("443"), by
// deadline. An IP literal is used as it is, without a lookup. Fails with
//   errc::timed_out    no answer by the deadline (the lookup goes on for callers with more time),
//   errc::unreachable  the name does not exist or has no address, or DNS failed,
//   errc::cancelled    the caller was cancelled,
//   errc::invalid_argument  an empty host or a port that is not a number 1..65535.
awaitable<result<endpoints>> resolve(std::string host, std::string port,
                                     std::chrono::steady_clock::time_point deadline);

// Pure: host as an IP literal (v4, v6, v6 in brackets, v6 with a zone), or nullopt for a name.
std::optional<asio::ip::address> ip_literal(std::string_view host);

// Per io_context, before its first lookup: name servers to ask instead of those in
// /etc/resolv.conf, as c-ares takes them ("127.0.0.1:5353,[::1]:53"). For tests.
void use_name_servers(asio::execution_context& ctx, std::string servers);

}  // namespace imagewatch::net
