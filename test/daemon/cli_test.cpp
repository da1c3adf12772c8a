#include "daemon/cli.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using daemon::parse_args;

TEST_CASE("cli: defaults and every flag")
{
    auto o = parse_args({}).value();
    CHECK_FALSE(o.once);
    CHECK_FALSE(o.config_path);
    o = parse_args({"--config", "/x.json", "--once", "--runtime=hermes", "--no-recreate", "--log-format", "json",
                    "--log-level=debug"})
            .value();
    CHECK(*o.config_path == "/x.json");
    CHECK(o.once);
    CHECK(*o.runtime == "hermes");
    CHECK(o.no_recreate);
    CHECK(o.log_format == log::format::json);
    CHECK(o.log_level == log::level::debug);
    CHECK(parse_args({"--check-config"}).value().check_config);
    CHECK(parse_args({"--version"}).value().version);
}

TEST_CASE("cli: bad usage is an error that names the argument")
{
    CHECK(parse_args({"--bogus"}).error().message.find("--bogus") != std::string::npos);
    CHECK_FALSE(parse_args({"--config"}).has_value());
    CHECK_FALSE(parse_args({"--log-level", "loud"}).has_value());
    CHECK_FALSE(parse_args({"--runtime", "x"}).has_value());  // needs --once
    CHECK_FALSE(parse_args({"--once=yes"}).has_value());
}
