#include "core/file_stamp.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace imagewatch;
namespace fs = std::filesystem;

TEST_CASE("file_stamp: changes with a rewrite of another size and with a rename over the file")
{
    test::temp_dir tmp("iw-stamp");
    const auto& dir = tmp.path;
    const auto path = (dir / "f").string();
    std::ofstream(path) << "one";
    auto a = stamp_of(path);
    REQUIRE(a.has_value());
    CHECK(stamp_of(path) == a);  // nothing happened

    std::ofstream(path) << "three";
    auto b = stamp_of(path);
    REQUIRE(b.has_value());
    CHECK(b != a);

    std::ofstream(dir / "g") << "three";  // same size, renamed over: a new inode
    fs::rename(dir / "g", path);
    auto c = stamp_of(path);
    REQUIRE(c.has_value());
    CHECK(c != b);

    fs::remove_all(dir);
    CHECK_FALSE(stamp_of(path).has_value());
    CHECK(errno == ENOENT);
}
