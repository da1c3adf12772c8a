#pragma once
// Whether a file changed since it was last read, without reading it: its identity and times as
// stat(2) reports them. For caches of files that may be replaced while we run (CA files, the
// docker config). I/O: one stat.
#include <cstdint>
#include <optional>
#include <string>

namespace imagewatch {

struct file_stamp
{
    std::uint64_t device = 0;
    std::uint64_t inode = 0;  // a rename over the file (docker login, editors) gives a new one
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    friend bool operator==(const file_stamp&, const file_stamp&) = default;
};

// nullopt when path cannot be stat'ed (errno tells why).
std::optional<file_stamp> stamp_of(const std::string& path);

}  // namespace imagewatch
