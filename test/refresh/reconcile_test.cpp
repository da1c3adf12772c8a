// Crash reconciliation (docs/swap.md "Recovery after a crash") over the in-memory engine: every interrupted state resolves to
// exactly one container under the original name.
#include "fake_docker.hpp"
#include "refresh/reconcile.hpp"
#include "refresh/select.hpp"
#include "support/run_coro.hpp"
#include "support/runtimes.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using test::fake_docker;

namespace {

const std::string A = "registry.test:5443/test/a:latest";

refresh::reconcile_report run(fake_docker& d)
{
    refresh::reconcile_report rep;
    std::vector<config::runtime> rts{test::rt("a", A)};
    test::run_coro([&](asio::io_context&) -> awaitable<void> { rep = co_await refresh::reconcile(d, rts); });
    return rep;
}

// As the swap leaves it: renamed (the name says whether it was running) and stopped.
void park(fake_docker& d, const std::string& id, const std::string& name, bool was_running = true)
{
    d.containers[id]["Name"] = "/" + refresh::old_name_for(name, was_running);
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

TEST_CASE("stopped original, killed after rename: renamed back and left stopped")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A, false);
    park(d, id, "ws-a", false);
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    auto c = d.by_name("ws-a").value();
    CHECK(c.at("Id").as_string() == id);
    CHECK_FALSE(fake_docker::running(c));
    CHECK(d.calls["start"] == 0);
}

TEST_CASE("stopped original, killed after its replacement was created: the replacement is kept, not started")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A, false);
    park(d, id, "ws-a", false);
    auto repl = d.add_container("ws-a", A, false, {{"imagewatch.replaced-from", id}});
    auto rep = run(d);
    CHECK(rep.committed == std::vector<std::string>{"ws-a"});
    CHECK_FALSE(d.containers.contains(id));
    auto c = d.by_name("ws-a").value();
    CHECK(c.at("Id").as_string() == repl);
    CHECK_FALSE(fake_docker::running(c));
    CHECK(d.calls["start"] == 0);
}

TEST_CASE("stopped original, replacement not yet on all networks: removed, original back and stopped")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A, false);
    d.containers[id]["NetworkSettings"].as_object()["Networks"].as_object()["backend"] = boost::json::object{};
    park(d, id, "ws-a", false);
    auto repl = d.add_container("ws-a", A, false, {{"imagewatch.replaced-from", id}});
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    CHECK_FALSE(d.containers.contains(repl));
    auto c = d.by_name("ws-a").value();
    CHECK(c.at("Id").as_string() == id);
    CHECK_FALSE(fake_docker::running(c));
}

TEST_CASE("running original still running when recovery comes (a stop may be under way): stopped, then started")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    d.containers[id]["State"].as_object()["Running"] = true;
    auto rep = run(d);
    CHECK(rep.restored == std::vector<std::string>{"ws-a"});
    CHECK(d.calls["stop"] == 1);
    CHECK(d.calls["start"] == 1);
    CHECK(fake_docker::running(d.by_name("ws-a").value()));
}

TEST_CASE("recovery interrupted after starting the original: it is still parked and still started next time")
{
    fake_docker d;
    d.add_image(A, {});
    auto id = d.add_container("ws-a", A);
    park(d, id, "ws-a");
    d.fail_on["rename"] = 1;
    auto first = run(d);
    CHECK(first.errors.size() == 1);
    CHECK(fake_docker::running(d.containers.at(id)));
    CHECK(d.by_name("ws-a-imagewatch-old"));
    auto second = run(d);
    CHECK(second.restored == std::vector<std::string>{"ws-a"});
    CHECK(fake_docker::running(d.by_name("ws-a").value()));
}
