// admin.listen "unix:PATH": only a stale socket is ever removed before binding.
#include "admin/server.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace imagewatch;
namespace fs = std::filesystem;

namespace {

using test::temp_dir;

// A listening unix socket at path; closing the fd without unlinking leaves a stale socket file.
int listen_at(const fs::path& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    return fd;
}

bool socket_file_at(const fs::path& p) { return fs::is_socket(fs::symlink_status(p)); }

}  // namespace

TEST_CASE("nothing at PATH: nothing to clear")
{
    temp_dir d;
    CHECK(admin::clear_stale_socket((d.path / "admin.sock").string()).has_value());
}

TEST_CASE("a stale socket (nobody accepts on it) is removed")
{
    temp_dir d;
    const auto p = d.path / "admin.sock";
    ::close(listen_at(p));
    REQUIRE(socket_file_at(p));
    CHECK(admin::clear_stale_socket(p.string()).has_value());
    CHECK_FALSE(fs::exists(fs::symlink_status(p)));
}

TEST_CASE("a socket another process listens on is kept and refused")
{
    temp_dir d;
    const auto p = d.path / "docker.sock";
    const int fd = listen_at(p);
    auto r = admin::clear_stale_socket(p.string());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_argument);
    CHECK(r.error().message.find("another process is listening") != std::string::npos);
    CHECK(socket_file_at(p));
    ::close(fd);
}

TEST_CASE("a regular file, a directory or a symbolic link at PATH is kept and refused")
{
    temp_dir d;
    const auto file = d.path / "important.conf";
    std::ofstream(file) << "keep me\n";
    const auto dir = d.path / "a-dir";
    fs::create_directory(dir);
    const auto live = d.path / "live.sock";
    const int fd = listen_at(live);
    const auto link_to_live = d.path / "link.sock";
    fs::create_symlink(live, link_to_live);
    const auto stale = d.path / "stale.sock";
    ::close(listen_at(stale));
    const auto link_to_stale = d.path / "link-stale.sock";
    fs::create_symlink(stale, link_to_stale);

    for (const auto& [p, what] :
         {std::pair{file, "a regular file"}, std::pair{dir, "a directory"}, std::pair{link_to_live, "a symbolic link"},
          std::pair{link_to_stale, "a symbolic link"}})
    {
        CAPTURE(p);
        auto r = admin::clear_stale_socket(p.string());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_argument);
        CHECK(r.error().message.find(what) != std::string::npos);
        CHECK(r.error().message.find('\n') == std::string::npos);  // one line on stderr at start-up
    }
    CHECK(fs::is_regular_file(file));
    CHECK(fs::is_directory(dir));
    CHECK(fs::is_symlink(link_to_live));
    CHECK(fs::is_symlink(link_to_stale));
    CHECK(socket_file_at(live));
    CHECK(socket_file_at(stale));  // a link's target is never touched either
    ::close(fd);
}
