#pragma once
// admin.token_file: the admin token, read again only when the file changes. Every request to
// /admin/* asks for the token before it is authenticated, so a request must cost at most a stat,
// never a read, and the file must never be one that blocks (a FIFO) or does not end (/dev/zero).
// I/O: stat, and a read when the file changed.
#include "core/error.hpp"
#include "core/file_stamp.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::daemon {

// A token is a line of text; the cap is checked before the file is read.
inline constexpr std::size_t max_token_file_size = 64 * 1024;

// The token in a token file's bytes: trailing line breaks and spaces removed; nullopt when nothing
// is left. Pure.
std::optional<std::string> token_from_text(std::string_view text);

class token_file
{
public:
    // The token in the file at path. nullopt: no token yet (no file, or an empty one), as when a
    // secret is not mounted yet. An error: the file exists but must not or cannot be read (not a
    // regular file, larger than 64 KiB, no permission); the message names the path and the reason.
    result<std::optional<std::string>> token(const std::string& path);

private:
    std::string path_;
    std::optional<file_stamp> stamp_;  // of the version read into value_; nullopt: nothing read
    result<std::optional<std::string>> value_ = std::optional<std::string>();
};

// At start-up: a token file that is there but must not be read (a FIFO, a device, a directory, too
// large) is a mistake in the config, refused like an invalid config. A missing file is not: a
// secret may be mounted later, and until then /admin/* answers 503. "" (no token file) is fine.
result<void> check_token_file(const std::string& path);

}  // namespace imagewatch::daemon
