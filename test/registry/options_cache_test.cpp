#include "registry/options_cache.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::registry;
using namespace std::chrono_literals;

namespace {

struct counting_lookup
{
    std::map<std::string, int> calls;
    options_cache::lookup fn()
    {
        return [this](std::string_view host) {
            ++calls[std::string(host)];
            host_options o;
            o.ca_file = std::string(host) + ".pem";
            return o;
        };
    }
};

}  // namespace

TEST_CASE("a host is looked up once per second at most")
{
    options_cache c;
    counting_lookup l;
    const options_cache::clock::time_point t0{100s};
    CHECK(c.get("ghcr.io", t0, l.fn()).ca_file == "ghcr.io.pem");
    CHECK(c.get("ghcr.io", t0 + 999ms, l.fn()).ca_file == "ghcr.io.pem");
    CHECK(l.calls["ghcr.io"] == 1);
    c.get("ghcr.io", t0 + 1s, l.fn());
    CHECK(l.calls["ghcr.io"] == 2);
}

TEST_CASE("clear (a reload) makes every host be looked up afresh")
{
    options_cache c;
    counting_lookup l;
    const options_cache::clock::time_point t0{100s};
    c.get("ghcr.io", t0, l.fn());
    c.clear();
    CHECK(c.size() == 0);
    c.get("ghcr.io", t0, l.fn());
    CHECK(l.calls["ghcr.io"] == 2);
}

TEST_CASE("hosts a registry named once do not stay: stale entries are swept")
{
    options_cache c;
    counting_lookup l;
    const options_cache::clock::time_point t0{100s};
    for (int i = 0; i < 50; ++i)
        c.get("realm" + std::to_string(i) + ".example", t0, l.fn());
    CHECK(c.size() == 50);
    c.get("ghcr.io", t0 + 2s, l.fn());
    CHECK(c.size() == 1);
}
