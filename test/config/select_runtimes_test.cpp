#include "config/config.hpp"
#include "support/runtimes.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

namespace {

std::vector<std::string> names(const std::vector<config::runtime>& rts)
{
    std::vector<std::string> n;
    for (const auto& r : rts)
        n.push_back(r.name);
    return n;
}

}  // namespace

TEST_CASE("select_runtimes: one by exact name, every one in config order, none for an unknown name")
{
    config::config c;
    c.runtimes = {test::rt("b", "ghcr.io/o/b:1"), test::rt("a", "ghcr.io/o/a:1")};
    CHECK(names(c.select_runtimes("a")) == std::vector<std::string>{"a"});
    CHECK(names(c.select_runtimes(std::nullopt)) == std::vector<std::string>{"b", "a"});
    CHECK(c.select_runtimes("A").empty());
    CHECK(c.select_runtimes("").empty());
}
