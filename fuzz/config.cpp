// Fuzz target: the config file. Every issue must format; a valid config diffs equal to itself.
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
    (void)config::parse_listen(text);
    (void)config::config_hash(text);
    return 0;
}
