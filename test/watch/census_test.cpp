// The "containers" figure of /admin/status: what each runtime selects now, whatever the watcher did.
#include "refresh/fake_docker.hpp"
#include "support/run_coro.hpp"
#include "watch/census.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

TEST_CASE("census counts each runtime's selected containers and inspects each container once")
{
    test::fake_docker d;
    const std::string A = "registry.test:5443/test/a:latest";
    const std::string B = "registry.test:5443/test/b:latest";
    d.add_image(A, {});
    d.add_image(B, {});
    d.add_container("ws-a1", A);
    d.add_container("ws-a2", A, false);  // stopped containers are selected too
    d.add_container("ws-b1", B);
    d.add_container("other-a", A);  // outside the name prefix
    std::vector<config::runtime> rts{
        {"a", parse_image_ref(A).value(), {"ws-", ""}, {}},
        {"b", parse_image_ref(B).value(), {"ws-", ""}, {}},
        {"c", parse_image_ref("registry.test:5443/test/c").value(), {"ws-", ""}, {}},
    };
    watch::container_census census;
    test::run_coro([&](asio::io_context&) -> awaitable<void> {
        auto n = co_await census.count(d, rts);
        REQUIRE(n.has_value());
        CHECK(*n == std::map<std::string, int>{{"a", 2}, {"b", 1}, {"c", 0}});
        const int inspects = d.calls["inspect_container"];
        CHECK(inspects == 3);  // the fake lists image IDs: the three ws- containers need Config.Image

        // A container removed and one added: the next count sees both, inspecting only the new one.
        d.containers.erase(d.containers.begin());
        d.add_container("ws-b2", B);
        n = co_await census.count(d, rts);
        REQUIRE(n.has_value());
        CHECK((*n)["a"] + (*n)["b"] == 3);
        CHECK((*n)["b"] == 2);
        CHECK(d.calls["inspect_container"] == inspects + 1);

        d.list_fails = true;
        n = co_await census.count(d, rts);
        REQUIRE_FALSE(n.has_value());
        CHECK(n.error().message.starts_with("container list: "));
    });
}
