#pragma once
// Reading a small file that a path in the config names (the config itself, admin.token_file, the
// docker config) without trusting what the path points at: opening a FIFO blocks until a writer
// comes (the whole daemon with it), and /dev/zero never ends. I/O: stat, open, fstat, read.
#include "core/error.hpp"

#include <cstddef>
#include <string>

namespace imagewatch {

// The bytes of the regular file at path (symlinks followed), refused before reading when the file
// is anything else or larger than max_bytes. Opened with O_NONBLOCK, so even a path swapped for a
// FIFO between the stat and the open cannot block; the open file is checked again with fstat, and
// at most max_bytes + 1 bytes are read, so a file growing meanwhile is refused too.
// Errors: errc::not_found "PATH: No such file or directory" when nothing is there; errc::invalid_argument
// "PATH: not a regular file (a FIFO)" or "PATH: larger than 64 KiB"; errc::failed "PATH: strerror".
result<std::string> read_small_regular_file(const std::string& path, std::size_t max_bytes);

// "64 KiB", "4 MiB", "100 bytes": a size limit as messages show it.
std::string format_size(std::size_t bytes);

}  // namespace imagewatch
