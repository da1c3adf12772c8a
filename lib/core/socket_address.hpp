#pragma once
// Where a stream socket listens or connects: a TCP host and port, or a Unix socket path, with the
// text it was written as. Pure. The config parses admin.listen and docker.host into it once; the
// admin server binds it and the Docker client connects to it without reading the text again.
#include <cstdint>
#include <string>

namespace imagewatch {

struct socket_address
{
    std::string host;        // TCP: a DNS name or IP literal, without brackets; empty for a Unix socket
    std::uint16_t port = 0;  // TCP; 0 for a Unix socket (or "any free port" when binding)
    std::string unix_path;   // absolute path of a Unix socket; empty for TCP
    std::string text;        // as written ("unix:///var/run/docker.sock", "[::1]:8080"): logs and messages

    bool is_unix() const { return !unix_path.empty(); }
    friend bool operator==(const socket_address&, const socket_address&) = default;
};

// The same socket however it was written ("unix:/x" and "unix:///x", "tcp://h" and "tcp://h:2375").
inline bool same_socket(const socket_address& a, const socket_address& b)
{
    return a.host == b.host && a.port == b.port && a.unix_path == b.unix_path;
}

}  // namespace imagewatch
