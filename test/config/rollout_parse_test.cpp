// rollout, min_age and mode: top-level defaults, per-runtime overrides, and the messages of bad values.
#include "config/parse.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace imagewatch::config;
using namespace std::chrono_literals;

namespace {

imagewatch::env_lookup no_env()
{
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

std::string with(std::string_view top, std::string_view runtime_extra = "")
{
    return std::string("{") + std::string(top) + (top.empty() ? "" : ",") +
           R"("runtimes":[{"name":"a","image":"reg.test/a:1")" + std::string(runtime_extra) +
           R"(},{"name":"b","image":"reg.test/b:1"}]})";
}

std::string issues_text(std::string_view text)
{
    auto r = parse(text, no_env());
    REQUIRE_FALSE(r.has_value());
    std::string all;
    for (const auto& i : r.error())
        all += i.field + ": " + i.message + "\n";
    return all;
}

}  // namespace

TEST_CASE("rollout defaults without any rollout key")
{
    auto c = parse(with(""), no_env()).value();
    const auto& r = c.runtimes[0].rollout;
    CHECK(r.parallelism == 4);
    CHECK(r.canary == 1);
    CHECK(r.max_failures == doctest::Approx(0.2));
    CHECK_FALSE(r.window);
    CHECK(r.min_age == 0ms);
    CHECK(r.mode == rollout_mode::update);
}

TEST_CASE("top-level rollout keys are every runtime's defaults; a runtime overrides only what it sets")
{
    auto c =
        parse(
            with(
                R"("rollout":{"parallelism":8,"canary":2,"max_failures":0.5,"window":"Mon-Fri 02:00-05:00 UTC"},"min_age":"1h","mode":"notify")",
                R"(,"rollout":{"canary":0},"mode":"update")"),
            no_env())
            .value();
    const auto& a = c.runtimes[0].rollout;
    const auto& b = c.runtimes[1].rollout;
    CHECK(b.parallelism == 8);
    CHECK(b.canary == 2);
    CHECK(b.max_failures == doctest::Approx(0.5));
    REQUIRE(b.window);
    CHECK(b.window->text == "Mon-Fri 02:00-05:00 UTC");
    CHECK(b.min_age == 1h);
    CHECK(b.mode == rollout_mode::notify);
    CHECK(a.parallelism == 8);  // inherited
    CHECK(a.canary == 0);       // overridden
    CHECK(a.window == b.window);
    CHECK(a.mode == rollout_mode::update);
    CHECK(c.rollout == b);  // the defaults themselves
}

TEST_CASE("a runtime can switch the window off with an empty string")
{
    auto c =
        parse(with(R"("rollout":{"window":"22:00-02:00 +02:00"})", R"(,"rollout":{"window":""})"), no_env()).value();
    CHECK_FALSE(c.runtimes[0].rollout.window);
    REQUIRE(c.runtimes[1].rollout.window);
    CHECK(c.runtimes[1].rollout.window->offset == 120);
}

TEST_CASE("bad rollout values name the field and what is accepted")
{
    auto t = issues_text(with(
        R"("rollout":{"parallelism":0,"canary":-1,"max_failures":1.5,"window":"weekdays","paralelism":2},"mode":"yolo","min_age":"soon")"));
    CHECK(t.find("rollout.parallelism: expected a whole number from 1 to 64, got a number 0") != std::string::npos);
    CHECK(t.find("rollout.canary: expected a whole number from 0 to 1000") != std::string::npos);
    CHECK(t.find("rollout.max_failures: expected a failure ratio from 0 to 1") != std::string::npos);
    CHECK(t.find("rollout.window: invalid window \"weekdays\"") != std::string::npos);
    CHECK(t.find("rollout.paralelism: unknown key \"paralelism\" (did you mean \"parallelism\"?)") !=
          std::string::npos);
    CHECK(t.find("mode: expected \"update\" or \"notify\", got \"yolo\"") != std::string::npos);
    CHECK(t.find("min_age:") != std::string::npos);
}

TEST_CASE("a runtime's bad override is reported under its path; a named time zone is refused with the reason")
{
    auto t = issues_text(with("", R"(,"rollout":{"window":"Mon-Fri 02:00-05:00 Europe/Berlin","parallelism":2.5})"));
    CHECK(t.find("runtimes[0].rollout.window: time zone \"Europe/Berlin\": write UTC or a fixed offset like +02:00") !=
          std::string::npos);
    CHECK(t.find("runtimes[0].rollout.parallelism: expected a whole number") != std::string::npos);
}
