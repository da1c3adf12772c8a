#include "daemon/file_watch.hpp"

#include "core/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <set>

namespace imagewatch::daemon {
namespace {

std::string dir_of(const std::string& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

class inotify_watch final : public file_watch
{
public:
    inotify_watch(asio::any_io_executor ex, int fd, std::string path, std::chrono::milliseconds debounce)
        : sd_(ex, fd), quiet_(ex), path_(std::move(path)), debounce_(debounce)
    {
        rearm();
    }

    void rearm() override
    {
        std::set<std::string> dirs{dir_of(path_)};
        char buf[PATH_MAX];
        if (::realpath(path_.c_str(), buf))
            dirs.insert(dir_of(buf));
        if (dirs == dirs_)
            return;
        for (int wd : wds_)
            ::inotify_rm_watch(sd_.native_handle(), wd);
        wds_.clear();
        for (const auto& d : dirs)
        {
            constexpr std::uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                           IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF;
            int wd = ::inotify_add_watch(sd_.native_handle(), d.c_str(), mask);
            if (wd < 0)
                log::warn("cannot watch config directory; use SIGHUP to reload", {{"dir", d}});
            else
                wds_.push_back(wd);
        }
        dirs_ = std::move(dirs);
    }

    awaitable<void> run(std::function<void()> on_change) override
    {
        std::array<char, 16 * 1024> buf;
        while (sd_.is_open())
        {
            auto [ec, n] = co_await sd_.async_read_some(asio::buffer(buf), nothrow_awaitable);
            if (ec)
                co_return;
            // Any event in the watched directories may concern us (a symlink swap renames a sibling);
            // wait for the burst to end, then let the caller compare contents.
            for (;;)
            {
                quiet_.expires_after(debounce_);
                co_await quiet_.async_wait(nothrow_awaitable);
                if (!sd_.is_open())
                    co_return;
                // Drain whatever arrived meanwhile (it is there, so no wait); none: the burst is over.
                int avail = 0;
                if (::ioctl(sd_.native_handle(), FIONREAD, &avail) != 0 || avail <= 0)
                    break;
                co_await sd_.async_read_some(asio::buffer(buf), nothrow_awaitable);
            }
            on_change();
        }
    }

    void close() override
    {
        boost::system::error_code ignored;
        quiet_.cancel();
        sd_.close(ignored);
    }

private:
    asio::posix::stream_descriptor sd_;
    asio::steady_timer quiet_;
    std::string path_;
    std::chrono::milliseconds debounce_;
    std::set<std::string> dirs_;
    std::vector<int> wds_;
};

}  // namespace

result<std::unique_ptr<file_watch>> watch_file(asio::any_io_executor ex, std::string path,
                                               std::chrono::milliseconds debounce)
{
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return make_error("inotify unavailable; reload with SIGHUP");
    return std::unique_ptr<file_watch>(new inotify_watch(std::move(ex), fd, std::move(path), debounce));
}

}  // namespace imagewatch::daemon
