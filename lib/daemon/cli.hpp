#pragma once
// The command line (docs/cli.md). Pure: argv in, options or a usage error out.
#include "core/error.hpp"
#include "core/log.hpp"

#include <optional>
#include <string>
#include <vector>

namespace imagewatch::daemon {

struct options
{
    std::optional<std::string> config_path;  // nullopt = $IMAGEWATCH_CONFIG or /etc/imagewatch/config.json
    bool once = false;
    std::optional<std::string> runtime;  // --once --runtime NAME
    bool no_recreate = false;            // --once --no-recreate
    bool check_config = false;
    log::format log_format = log::format::text;
    log::level log_level = log::level::info;
    bool version = false;
    bool help = false;
};

// Accepts "--flag value" and "--flag=value". Errors name the offending argument.
result<options> parse_args(const std::vector<std::string>& args);

std::string usage();

}  // namespace imagewatch::daemon
