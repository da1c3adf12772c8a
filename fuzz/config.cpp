// Fuzz target: the config file. Every issue must format; a valid config diffs equal to itself;
// an address that parses names one socket.
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "fuzz_support.hpp"

using namespace imagewatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto text = fuzz::as_view(data, size);
    env_lookup no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto r = config::parse(text, no_env);
    if (!r)
    {
        FUZZ_CHECK(!r.error().empty());
        for (const config::issue& i : r.error())
        {
            FUZZ_CHECK(i.line >= 0 && i.column >= 0);
            FUZZ_CHECK(!config::format_issue("config.json", i).empty());
        }
    }
    else
    {
        FUZZ_CHECK(!config::diff(*r, *r).any());
    }
    // A parsed address names exactly one socket and keeps the text as written.
    for (auto parse : {config::parse_listen, config::parse_docker_host})
        if (auto a = parse(text))
            FUZZ_CHECK(a->text == text && (a->is_unix() ? a->unix_path.starts_with('/') && a->host.empty()
                                                        : !a->host.empty() && a->port != 0));
    (void)config::config_hash(text);
    return 0;
}
