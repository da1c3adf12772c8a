// Swap ordering for container:<parent> network mode: parents first, dependents of a replaced parent too.
#include "refresh/plan.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::refresh;

namespace {

std::vector<std::size_t> order(const std::vector<planned_swap>& p)
{
    std::vector<std::size_t> o;
    for (auto& s : p)
        o.push_back(s.index);
    return o;
}

const std::string vpn_id = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";

}  // namespace

TEST_CASE("stale containers keep list order when independent")
{
    std::vector<candidate> c{{"1", "a", "", true}, {"2", "b", "", false}, {"3", "c", "", true}};
    CHECK(order(plan_swaps(c)) == std::vector<std::size_t>{0, 2});
}

TEST_CASE("the network parent is replaced before its dependent, whatever the list order")
{
    std::vector<candidate> c{{"2", "app", "container:" + vpn_id, true}, {vpn_id, "vpn", "", true}};
    c[0].network_parent = network_parent_of(c[0].network_parent);
    auto p = plan_swaps(c);
    CHECK(order(p) == std::vector<std::size_t>{1, 0});
    CHECK_FALSE(p[1].forced);
}

TEST_CASE("a current dependent of a replaced parent is recreated too (forced), transitively")
{
    std::vector<candidate> c{{"3", "app2", "app", false},
                             {"2", "app", "aaaaaaaaaaaa", false},
                             {vpn_id, "vpn", "", true},
                             {"4", "other", "", false}};
    auto p = plan_swaps(c);
    CHECK(order(p) == std::vector<std::size_t>{2, 1, 0});
    CHECK(p[1].forced);
    CHECK(p[2].forced);
}

TEST_CASE("a dependent of a parent that is not replaced stays")
{
    std::vector<candidate> c{{"2", "app", "vpn", false}, {vpn_id, "vpn", "", false}};
    CHECK(plan_swaps(c).empty());
}

TEST_CASE("network_parent_of and find_candidate")
{
    CHECK(network_parent_of("container:vpn") == "vpn");
    CHECK(network_parent_of("none").empty());
    CHECK(network_parent_of("container:").empty());
    std::vector<candidate> c{{vpn_id, "vpn", "", false}};
    CHECK(find_candidate(c, "vpn") == 0);
    CHECK(find_candidate(c, vpn_id) == 0);
    CHECK(find_candidate(c, "aaaaaaaaaaaa") == 0);
    CHECK(find_candidate(c, "aaa") == std::string::npos);  // too short to be an ID prefix
}
