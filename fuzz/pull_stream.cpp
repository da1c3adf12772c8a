// Fuzz target: the /images/create progress stream, fed in data-derived chunks.
// Byte 0 picks the chunking: 0 = two pieces split at a position taken from bytes 1-2,
// otherwise chunks of (byte0 % 64 + 1) bytes. The stream is the rest of the input.
#include "docker/pull_progress.hpp"
#include "fuzz_support.hpp"

#include <algorithm>

using namespace imagewatch;
using namespace imagewatch::docker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const std::uint8_t mode = data[0];
    const std::size_t pos = static_cast<std::size_t>(data[1]) << 8 | data[2];
    auto stream = fuzz::as_view(data + 3, size - 3);

    pull_progress p;
    bool ok = true;
    if (mode == 0)
    {
        std::size_t cut = stream.empty() ? 0 : pos % (stream.size() + 1);
        ok = p.feed(stream.substr(0, cut)).has_value() && p.feed(stream.substr(cut)).has_value();
    }
    else
    {
        const std::size_t chunk = mode % 64 + 1;
        for (std::size_t at = 0; ok && at < stream.size(); at += chunk)
            ok = p.feed(stream.substr(at, chunk)).has_value();
    }
    if (ok)
        (void)p.finish();
    else
        FUZZ_CHECK(!p.feed("{}").has_value());  // a broken accumulator stays broken
    if (p.error_message())
        (void)classify_pull_error(*p.error_message());
    if (!p.digest().empty())
        FUZZ_CHECK(p.objects() > 0);
    const auto t = p.totals();
    FUZZ_CHECK(t.layers_done <= t.layers);
    FUZZ_CHECK(t.bytes_done <= t.bytes_total);
    (void)classify_pull_error(stream);
    return 0;
}
