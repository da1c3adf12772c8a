#include "core/small_file.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace imagewatch;
namespace fs = std::filesystem;

namespace {

using test::temp_dir;

}  // namespace

TEST_CASE("read_small_regular_file: a regular file up to the limit, through a symlink too")
{
    temp_dir d;
    auto p = d.write("token", "s3cret\n");
    CHECK(read_small_regular_file(p, 64).value() == "s3cret\n");
    CHECK(read_small_regular_file(p, 7).value() == "s3cret\n");  // exactly at the limit
    CHECK(read_small_regular_file(d.write("empty", ""), 64).value().empty());
    fs::create_symlink(p, d.path / "link");  // how Kubernetes mounts secrets
    CHECK(read_small_regular_file((d.path / "link").string(), 64).value() == "s3cret\n");
    auto big = std::string(100'000, 'x');
    CHECK(read_small_regular_file(d.write("big", big), 100'000).value() == big);
}

TEST_CASE("read_small_regular_file: larger than the limit is refused with the limit in the message")
{
    temp_dir d;
    auto p = d.write("big", std::string(64 * 1024 + 1, 'x'));
    auto r = read_small_regular_file(p, 64 * 1024);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_argument);
    CHECK(r.error().message == p + ": larger than 64 KiB");
}

TEST_CASE("read_small_regular_file: /dev/zero, a FIFO without writer and a directory fail at once")
{
    temp_dir d;
    auto fifo = (d.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::pair<std::string, std::string> cases[] = {
        {"/dev/zero", "/dev/zero: not a regular file (a character device)"},
        {fifo, fifo + ": not a regular file (a FIFO)"},
        {d.path.string(), d.path.string() + ": not a regular file (a directory)"},
    };
    for (const auto& [path, message] : cases)
    {
        CAPTURE(path);
        auto r = read_small_regular_file(path, 1024 * 1024);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_argument);
        CHECK(r.error().message == message);
    }
}

TEST_CASE("read_small_regular_file: a missing file is not_found")
{
    temp_dir d;
    auto p = (d.path / "nope").string();
    auto r = read_small_regular_file(p, 64);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::not_found);
    CHECK(r.error().message == p + ": No such file or directory");
}

TEST_CASE("format_size")
{
    CHECK(format_size(64 * 1024) == "64 KiB");
    CHECK(format_size(4 * 1024 * 1024) == "4 MiB");
    CHECK(format_size(1000) == "1000 bytes");
}
