#include "config/parse.hpp"
#include "daemon/reload.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::daemon;
using namespace std::chrono_literals;

namespace {

config::runtime make_runtime(std::string name, std::string_view image)
{
    return config::runtime{std::move(name), parse_image_ref(image).value(), {}, {}};
}

config::config base()
{
    config::config c;
    c.admin.listen = config::parse_listen("127.0.0.1:8080").value();
    c.runtimes = {make_runtime("a", "ghcr.io/o/a:latest"), make_runtime("b", "ghcr.io/o/b:latest")};
    return c;
}

reload_plan plan(const config::config& next) { return plan_reload(config::diff(base(), next)); }

}  // namespace

TEST_CASE("trigger names as logged")
{
    CHECK(trigger_name(reload_trigger::file_change) == "file change");
    CHECK(trigger_name(reload_trigger::sighup) == "SIGHUP");
}

TEST_CASE("a file event with the bytes last read is no reload; SIGHUP and a failed last reload are")
{
    const std::string same = "{}";
    const std::string other = "{ }";
    CHECK_FALSE(worth_parsing(reload_trigger::file_change, false, &same, same));
    CHECK(worth_parsing(reload_trigger::file_change, false, &other, same));
    CHECK(worth_parsing(reload_trigger::file_change, true, &same, same));     // a variable may be set now
    CHECK(worth_parsing(reload_trigger::file_change, false, nullptr, same));  // unreadable: say so
    CHECK(worth_parsing(reload_trigger::sighup, false, &same, same));
}

TEST_CASE("an identical config changes nothing in the running daemon")
{
    const auto p = plan(base());
    CHECK_FALSE(p.rebind_admin);
    CHECK_FALSE(p.docker_host_ignored);
    CHECK_FALSE(p.set_timeouts);
    CHECK_FALSE(p.apply_watch);
}

TEST_CASE("each change reaches the part that must follow it")
{
    auto n = base();
    n.admin.listen = config::parse_listen("127.0.0.1:9090").value();
    CHECK(plan(n).rebind_admin);
    CHECK_FALSE(plan(n).apply_watch);

    n = base();
    n.admin.listen = config::parse_listen("127.0.0.1:8080").value();
    n.admin.token_env = "OTHER";  // read per request: nothing to re-bind
    CHECK_FALSE(plan(n).rebind_admin);

    n = base();
    n.docker.host = config::parse_docker_host("unix:///other.sock").value();
    CHECK(plan(n).docker_host_ignored);

    n = base();
    n.docker.platform = "linux/arm64";  // read at each check
    CHECK_FALSE(plan(n).docker_host_ignored);
    CHECK_FALSE(plan(n).apply_watch);

    n = base();
    n.timeouts.request = 5s;
    CHECK(plan(n).set_timeouts);

    n = base();
    n.watch.interval = 10min;
    CHECK(plan(n).apply_watch);

    n = base();
    n.runtimes.pop_back();
    CHECK(plan(n).apply_watch);

    n = base();
    std::swap(n.runtimes[0], n.runtimes[1]);  // status lists runtimes in config order
    CHECK(plan(n).apply_watch);

    n = base();
    n.runtimes[0].image = parse_image_ref("ghcr.io/o/a:2").value();
    CHECK(plan(n).apply_watch);
}

TEST_CASE("two spellings of one unix socket are no re-bind")
{
    auto a = base();
    a.admin.listen = config::parse_listen("unix:/run/iw.sock").value();
    auto b = base();
    b.admin.listen = config::parse_listen("unix:///run/iw.sock").value();
    CHECK_FALSE(plan_reload(config::diff(a, b)).rebind_admin);
    b.admin.listen = config::parse_listen("unix:///run/other.sock").value();
    CHECK(plan_reload(config::diff(a, b)).rebind_admin);
}
