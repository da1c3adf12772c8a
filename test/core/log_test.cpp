#include "core/log.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace imagewatch;

TEST_CASE("short_digest keeps the algorithm and 12 hex digits")
{
    CHECK(log::short_digest("sha256:abcdef0123456789") == "sha256:abcdef012345");
    CHECK(log::short_digest("sha256:short") == "sha256:short");
    CHECK(log::short_digest("") == "");
    CHECK(log::short_digest("no-colon-format") == "no-colon-format");
    CHECK(log::short_digest("sha256:0000000000000000abcd") == "sha256:000000000000");
}

TEST_CASE("text lines are logfmt; values with spaces or quotes are quoted")
{
    auto line = log::render(log::format::text, "T", log::level::info, "pull done",
                            {{"runtime", "claude-code"}, {"error", "a \"b\" c"}});
    CHECK(line == R"(ts=T level=info msg="pull done" runtime=claude-code error="a \"b\" c")");
}

TEST_CASE("json lines are one JSON object with escapes")
{
    auto line = log::render(log::format::json, "T", log::level::warn, "x\ny", {{"k", "v"}});
    CHECK(line == R"({"ts":"T","level":"warn","msg":"x\ny","k":"v"})");
}

TEST_CASE("level filter and sink")
{
    std::vector<std::string> lines;
    log::set_sink([&](std::string_view l) { lines.emplace_back(l); });
    log::configure(log::level::warn, log::format::text);
    log::info("hidden");
    log::error("shown");
    log::set_sink({});
    log::configure(log::level::info, log::format::text);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("msg=shown") != std::string::npos);
}
