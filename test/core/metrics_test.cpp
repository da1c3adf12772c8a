#include "core/metrics.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

TEST_CASE("metrics render in Prometheus text format")
{
    metrics::registry r;
    r.describe("x_total", "counter", "Things.");
    r.describe("d_seconds", "histogram", "Durations.");
    r.inc("x_total", {{"runtime", "a\"b"}, {"result", "ok"}});
    r.inc("x_total", {{"runtime", "a\"b"}, {"result", "ok"}}, 2);
    r.observe("d_seconds", {}, 0.02);
    auto t = r.render();
    CHECK(t.find("# TYPE x_total counter\n") != std::string::npos);
    CHECK(t.find("x_total{runtime=\"a\\\"b\",result=\"ok\"} 3\n") != std::string::npos);
    CHECK(t.find("d_seconds_bucket{le=\"0.01\"} 0\n") != std::string::npos);
    CHECK(t.find("d_seconds_bucket{le=\"0.025\"} 1\n") != std::string::npos);
    CHECK(t.find("d_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(t.find("d_seconds_count 1\n") != std::string::npos);
    CHECK(r.value("x_total", {{"runtime", "a\"b"}, {"result", "ok"}}) == 3);
    r.forget("x_total", "runtime", "a\"b");
    CHECK(r.value("x_total", {{"runtime", "a\"b"}, {"result", "ok"}}) == 0);
}

TEST_CASE("metrics: a bounded label passes its first values and folds later ones into \"other\"")
{
    metrics::bounded_label hosts(3);
    CHECK(hosts("a:443") == "a:443");
    CHECK(hosts("b:443") == "b:443");
    CHECK(hosts("a:443") == "a:443");
    CHECK(hosts("c:443") == "c:443");
    CHECK(hosts("d:443") == "other");
    CHECK(hosts("a:443") == "a:443");  // the first ones keep their names
    for (int i = 0; i < 10000; ++i)
        CHECK(hosts("realm-" + std::to_string(i) + ".example:443") == "other");
    CHECK(hosts.size() == 3);
}
