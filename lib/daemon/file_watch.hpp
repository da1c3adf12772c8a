#pragma once
// Notices edits of one file (docs/configuration.md "Reload"). I/O: inotify on the file's directory (and on
// the directory of its symlink target), so editors' rename-on-save, in-place writes and symlink
// swaps (Kubernetes ConfigMaps) are all seen. Events are debounced; the caller re-reads and
// compares content, so a spurious wake-up costs one read.
#include "core/awaitable.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace imagewatch::daemon {

class file_watch
{
public:
    virtual ~file_watch() = default;
    // Calls on_change() once per burst of events (after `debounce` of quiet). Returns when closed.
    virtual awaitable<void> run(std::function<void()> on_change) = 0;
    // Re-arms the watches (call after each reload: a symlink may now point elsewhere).
    virtual void rearm() = 0;
    virtual void close() = 0;
};

// Fails when inotify is unavailable; the caller then relies on SIGHUP alone.
result<std::unique_ptr<file_watch>> watch_file(asio::any_io_executor ex, std::string path,
                                               std::chrono::milliseconds debounce = std::chrono::milliseconds(200));

}  // namespace imagewatch::daemon
