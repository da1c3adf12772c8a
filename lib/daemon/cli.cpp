#include "daemon/cli.hpp"

namespace imagewatch::daemon {

std::string usage()
{
    return "usage: imagewatch [--config PATH] [--once [--runtime NAME] [--no-recreate]] [--check-config]\n"
           "                  [--log-format text|json] [--log-level debug|info|warn|error] [--version] [--help]\n"
           "\n"
           "Watches registry digests of image tags and safely replaces the Docker containers that run them.\n"
           "  --config PATH    config file (default: $IMAGEWATCH_CONFIG, else /etc/imagewatch/config.json)\n"
           "  --check-config   validate the config, print ok or each error, exit 0 or 2\n"
           "  --once           run one refresh, print the result JSON, exit 0 (ok) or 1 (something failed)\n"
           "  --runtime NAME   with --once: only this runtime\n"
           "  --no-recreate    with --once: pull only, replace nothing\n";
}

result<options> parse_args(const std::vector<std::string>& args)
{
    options o;
    const auto bad = [](std::string m) { return make_error(errc::invalid_argument, std::move(m)); };
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        std::string a = args[i];
        std::optional<std::string> inline_value;
        if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos)
        {
            inline_value = a.substr(eq + 1);
            a = a.substr(0, eq);
        }
        const auto value = [&]() -> std::optional<std::string> {
            if (inline_value)
                return inline_value;
            if (i + 1 < args.size())
                return args[++i];
            return std::nullopt;
        };
        const auto flag_only = [&]() { return !inline_value; };

        if (a == "--config" || a == "--runtime")
        {
            const bool config = a == "--config";
            auto v = value();
            if (!v || v->empty())
                return bad(config ? "--config needs a path" : "--runtime needs a runtime name");
            (config ? o.config_path : o.runtime) = *v;
        }
        else if (a == "--log-format")
        {
            if (auto v = value(); !v || !log::parse_format(*v, o.log_format))
                return bad("--log-format must be text or json");
        }
        else if (a == "--log-level")
        {
            if (auto v = value(); !v || !log::parse_level(*v, o.log_level))
                return bad("--log-level must be debug, info, warn or error");
        }
        else if (a == "--once" && flag_only())
            o.once = true;
        else if (a == "--no-recreate" && flag_only())
            o.no_recreate = true;
        else if (a == "--check-config" && flag_only())
            o.check_config = true;
        else if (a == "--version" && flag_only())
            o.version = true;
        else if ((a == "--help" || a == "-h") && flag_only())
            o.help = true;
        else
            return bad("unknown argument: " + args[i] + " (see --help)");
    }
    if ((o.runtime || o.no_recreate) && !o.once)
        return bad("--runtime and --no-recreate need --once");
    if (o.once && o.check_config)
        return bad("--once and --check-config exclude each other");
    return o;
}

}  // namespace imagewatch::daemon
