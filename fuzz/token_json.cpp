// Fuzz target: token endpoint JSON, plus the other header/time parsers of the registry client
// (Retry-After, RFC 3339) on the same bytes.
#include "fuzz_support.hpp"
#include "registry/manifest.hpp"
#include "registry/token.hpp"

#include <chrono>

using namespace imagewatch;
using namespace imagewatch::registry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto in = fuzz::as_view(data, size);
    if (auto t = parse_token_response(in))
    {
        FUZZ_CHECK(!t->value.empty());
        FUZZ_CHECK(t->expires_in.count() > 0);
    }
    // A fixed "now" (2024-05-01T12:00:00Z) keeps runs reproducible.
    const std::chrono::system_clock::time_point now{std::chrono::seconds(1714564800)};
    if (auto s = parse_retry_after(in, now))
        FUZZ_CHECK(s->count() >= 0);
    (void)parse_rfc3339(in);
    (void)is_index_media_type(in);
    return 0;
}
