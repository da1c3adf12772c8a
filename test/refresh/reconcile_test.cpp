// Crash reconciliation (SPEC §6) over the in-memory engine: every interrupted state resolves to
// exactly one container under the original name.
#include "refresh/reconcile.hpp"
#include "fake_docker.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using test::fake_docker;

namespace {

const std::string A = "registry.test:5443/test/a:latest";

refresh::reconcile_report run(fake_docker& d)
{
    refresh::reconcile_report rep;
    std::vector<config::runtime> rts{config::runtime{"a", parse_image_ref(A).value(), config::selector{"ws-", ""}}};
    test::run_coro([&](asio::io_context&) -> awaitable<void> { rep = co_await refresh::reconcile(d, rts); });
    return rep;
}

void park(fake_docker& d, const std::string& id, const std::string& name)
{
    d.containers[id]["Name"] = "/" + name + "-imagewatch-old";
    d.containers[id]["State"].as_object()["Running"] = false;
}

}  // namespace

TEST_CASE("killed after rename/stop, before create: original renamed back and started")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    auto c = d.by_name("ws-a").value();
    CHECK(c.at("Id").as_string() == id);
    CHECK(fake_docker::running(c));
}

TEST_CASE("killed after create, before verify: replacement removed, original restored")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    auto repl = d.add_container("ws-a", A, false, {{"imagewatch.replaced-from", id}});
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    CHECK_FALSE(d.containers.contains(repl));
    CHECK(d.by_name("ws-a").value().at("Id").as_string() == id);
    CHECK(d.containers.size() == 1);
}

TEST_CASE("killed after the replacement runs: the parked original is removed")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    auto repl = d.add_container("ws-a", A, true, {{"imagewatch.replaced-from", id}});
    auto rep = run(d);
    CHECK(rep.committed == std::vector<std::string>{"ws-a"});
    CHECK_FALSE(d.containers.contains(id));
    CHECK(d.by_name("ws-a").value().at("Id").as_string() == repl);
}

TEST_CASE("a foreign container under the original name is never touched")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    auto other = d.add_container("ws-a", A);
    auto rep = run(d);
    CHECK(rep.errors.size() == 1);
    CHECK(d.containers.contains(other));
    CHECK(d.containers.contains(id));
}

TEST_CASE("a replacement that is running but not healthy is not trusted")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    auto repl = d.add_container("ws-a", A, true, {{"imagewatch.replaced-from", id}});
    d.containers[repl]["State"].as_object()["Health"] = boost::json::object{{"Status", "starting"}};
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    CHECK(d.by_name("ws-a").value().at("Id").as_string() == id);
}

TEST_CASE("parked containers that no runtime selects belong to someone else and are left alone")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("other-a", A);
    park(d, id, "other-a");
    auto rep = run(d);
    CHECK(rep.restored.empty());
    CHECK(d.containers.at(id).at("Name").as_string() == "/other-a-imagewatch-old");
}
