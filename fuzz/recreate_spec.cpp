// Fuzz target: build_recreate_spec on arbitrary inspect objects. Input: a JSON array
// [container_inspect, old_image_inspect, new_image_inspect] (anything else is skipped).
// It may refuse, but must never crash, and what it builds must serialize.
#include "docker/recreate_spec.hpp"
#include "fuzz_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace imagewatch;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    json::error_code ec;
    json::value v = json::parse(fuzz::as_view(data, size), ec);
    if (ec || !v.is_array())
        return 0;
    // A number past double's range parses as infinity, which Boost.JSON writes as "Infinity" and
    // cannot read back: such an input is no JSON the Engine could send, so the round trip below
    // would blame the builder for the library.
    if (json::parse(json::serialize(v), ec); ec)
        return 0;
    const json::array& a = v.get_array();
    if (a.size() != 3 || !a[0].is_object() || !a[1].is_object() || !a[2].is_object())
        return 0;
    auto spec = docker::build_recreate_spec(a[0].get_object(), a[1].get_object(), a[2].get_object(),
                                            "registry.test/app:v2", "0123456789abcdef");
    if (!spec)
        return 0;
    auto body = json::serialize(spec->body);
    FUZZ_CHECK(json::parse(body, ec).is_object() && !ec);
    for (const auto& [name, endpoint] : spec->extra_networks)
        (void)json::serialize(endpoint);
    return 0;
}
