#include "daemon/token_file.hpp"

#include "core/small_file.hpp"
#include "core/text.hpp"

#include <cerrno>
#include <cstring>

namespace imagewatch::daemon {

std::optional<std::string> token_from_text(std::string_view text)
{
    text = trim_end(text, "\n\r ");
    if (text.empty())
        return std::nullopt;
    return std::string(text);
}

result<std::optional<std::string>> token_file::token(const std::string& path)
{
    const auto stamp = stamp_of(path);
    if (!stamp)
    {
        const int e = errno;
        stamp_.reset();
        if (e == ENOENT || e == ENOTDIR)
            return std::optional<std::string>();
        return make_error(errc::failed, path + ": " + std::strerror(e));
    }
    if (path == path_ && stamp_ == stamp)
        return value_;
    path_ = path;
    stamp_ = stamp;
    auto text = read_small_regular_file(path, max_token_file_size);
    if (text)
        value_ = token_from_text(*text);
    else if (text.error().code == errc::not_found)  // removed since the stat
        value_ = std::optional<std::string>();
    else
        value_ = text.error();
    return value_;
}

result<void> check_token_file(const std::string& path)
{
    if (path.empty())
        return {};
    return without_value(token_file{}.token(path));
}

}  // namespace imagewatch::daemon
