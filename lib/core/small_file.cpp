#include "core/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace imagewatch {

namespace {

std::string_view kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

error sys_error(const std::string& path, int e)
{
    return make_error(e == ENOENT || e == ENOTDIR ? errc::not_found : errc::failed, path + ": " + std::strerror(e));
}

// Refuses what must not be read: checked on the path before opening (no open side effects on a
// device) and again on the open descriptor (the path may have been replaced in between).
result<void> check(const std::string& path, const struct stat& st, std::size_t max_bytes)
{
    if (!S_ISREG(st.st_mode))
        return make_error(errc::invalid_argument,
                          path + ": not a regular file (" + std::string(kind_of(st.st_mode)) + ")");
    if (st.st_size < 0 || static_cast<std::uintmax_t>(st.st_size) > max_bytes)
        return make_error(errc::invalid_argument, path + ": larger than " + format_size(max_bytes));
    return {};
}

struct fd_closer
{
    int fd;
    ~fd_closer() { ::close(fd); }
};

}  // namespace

std::string format_size(std::size_t bytes)
{
    constexpr std::size_t kib = 1024;
    constexpr std::size_t mib = 1024 * kib;
    if (bytes >= mib && bytes % mib == 0)
        return std::to_string(bytes / mib) + " MiB";
    if (bytes >= kib && bytes % kib == 0)
        return std::to_string(bytes / kib) + " KiB";
    return std::to_string(bytes) + " bytes";
}

result<std::string> read_small_regular_file(const std::string& path, std::size_t max_bytes)
{
    struct stat st
    {};
    if (::stat(path.c_str(), &st) != 0)
        return sys_error(path, errno);
    if (auto ok = check(path, st, max_bytes); !ok)
        return ok.error();

    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sys_error(path, errno);
    fd_closer closer{fd};
    if (::fstat(fd, &st) != 0)
        return sys_error(path, errno);
    if (auto ok = check(path, st, max_bytes); !ok)
        return ok.error();

    // Sized by fstat, grown up to one byte past the limit: a file that grew since shows as too large.
    std::string text;
    text.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t used = 0;
    for (;;)
    {
        if (used == text.size())
        {
            if (used > max_bytes)
                break;
            text.resize(std::min(2 * used, max_bytes + 1));
        }
        const auto n = ::read(fd, text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sys_error(path, errno);
        if (n == 0)
            break;
        used += static_cast<std::size_t>(n);
    }
    if (used > max_bytes)
        return make_error(errc::invalid_argument, path + ": larger than " + format_size(max_bytes));
    text.resize(used);
    return text;
}

}  // namespace imagewatch
