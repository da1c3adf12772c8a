#include "daemon/token_file.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace imagewatch;
using namespace imagewatch::daemon;
namespace fs = std::filesystem;

namespace {

using test::temp_dir;

// How many times a file is opened: inotify IN_OPEN events on it, drained without blocking.
struct open_counter
{
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    explicit open_counter(const std::string& path) { REQUIRE(::inotify_add_watch(fd, path.c_str(), IN_OPEN) >= 0); }
    ~open_counter() { ::close(fd); }
    int opens()
    {
        int n = 0;
        alignas(inotify_event) char buf[4096];
        for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) > 0;)
            for (ssize_t i = 0; i < got;
                 i += static_cast<ssize_t>(sizeof(inotify_event) + reinterpret_cast<inotify_event*>(buf + i)->len))
                ++n;
        return n;
    }
};

}  // namespace

TEST_CASE("token_from_text drops trailing line breaks and spaces")
{
    CHECK(token_from_text("s3cret\n").value() == "s3cret");
    CHECK(token_from_text("s3cret \r\n").value() == "s3cret");
    CHECK(token_from_text(" s3cret").value() == " s3cret");
    CHECK_FALSE(token_from_text("\n\n").has_value());
    CHECK_FALSE(token_from_text("").has_value());
}

TEST_CASE("token_file: read once per version of the file, however often asked")
{
    temp_dir d;
    const auto path = (d.path / "token").string();
    std::ofstream(path) << "one\n";
    token_file tf;
    open_counter counter(path);
    for (int i = 0; i < 20; ++i)
        CHECK(tf.token(path).value() == std::optional<std::string>("one"));
    CHECK(counter.opens() == 1);

    std::ofstream(d.path / "token.new") << "two\n";  // rotation: renamed over, as tools do
    fs::rename(d.path / "token.new", path);
    open_counter counter2(path);
    for (int i = 0; i < 20; ++i)
        CHECK(tf.token(path).value() == std::optional<std::string>("two"));
    CHECK(counter2.opens() == 1);
}

TEST_CASE("token_file: no file yet, or an empty one, is no token; it counts once it appears")
{
    temp_dir d;
    const auto path = (d.path / "token").string();
    token_file tf;
    CHECK(tf.token(path).value() == std::nullopt);
    std::ofstream(path) << "";
    CHECK(tf.token(path).value() == std::nullopt);
    std::ofstream(path) << "t0ken";
    CHECK(tf.token(path).value() == std::optional<std::string>("t0ken"));
    fs::remove(path);
    CHECK(tf.token(path).value() == std::nullopt);
}

TEST_CASE("token_file: a FIFO, /dev/zero, a directory or a huge file is an error, at once")
{
    temp_dir d;
    const auto fifo = (d.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto big = (d.path / "big").string();
    std::ofstream(big) << std::string(max_token_file_size + 1, 'x');
    const std::pair<std::string, std::string> cases[] = {
        {fifo, fifo + ": not a regular file (a FIFO)"},
        {"/dev/zero", "/dev/zero: not a regular file (a character device)"},
        {d.path.string(), d.path.string() + ": not a regular file (a directory)"},
        {big, big + ": larger than 64 KiB"},
    };
    token_file tf;
    for (const auto& [path, message] : cases)
    {
        CAPTURE(path);
        for (int i = 0; i < 2; ++i)  // the cached answer is the same error
        {
            auto t = tf.token(path);
            REQUIRE_FALSE(t.has_value());
            CHECK(t.error().message == message);
        }
    }
}

TEST_CASE("check_token_file: start-up refuses a file that must not be read, not one that is missing")
{
    temp_dir d;
    CHECK(check_token_file("").has_value());
    CHECK(check_token_file((d.path / "not-mounted-yet").string()).has_value());
    CHECK(check_token_file(d.write("token", "t\n")).has_value());
    auto dir = check_token_file(d.path.string());
    REQUIRE_FALSE(dir.has_value());
    CHECK(dir.error().message == d.path.string() + ": not a regular file (a directory)");
}
