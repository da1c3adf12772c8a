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
