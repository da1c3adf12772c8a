// Fuzz target: image references. Whatever parses must print canonically and parse back equal.
#include "image/image_ref.hpp"
#include "fuzz_support.hpp"

using namespace imagewatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto in = fuzz::as_view(data, size);
    auto r = parse_image_ref(in);
    if (!r)
        return 0;
    const image_ref& ref = *r;
    FUZZ_CHECK(!ref.registry.empty());
    FUZZ_CHECK(!ref.repository.empty());
    FUZZ_CHECK(!ref.tag.empty() || !ref.digest.empty());
    auto canonical = ref.str();
    auto again = parse_image_ref(canonical);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == ref);
    FUZZ_CHECK(again->str() == canonical);
    FUZZ_CHECK(canonical.starts_with(ref.name()));
    FUZZ_CHECK(!ref.endpoint_host().empty());
    return 0;
}
