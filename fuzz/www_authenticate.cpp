// Fuzz target: WWW-Authenticate headers, then the token URL a Bearer challenge leads to.
#include "fuzz_support.hpp"
#include "registry/challenge.hpp"
#include "registry/token.hpp"

#include <boost/url/parse.hpp>

#include <cctype>

using namespace imagewatch;
using namespace imagewatch::registry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto r = parse_challenges(fuzz::as_view(data, size));
    if (!r)
        return 0;
    FUZZ_CHECK(!r->empty());
    for (const challenge& c : *r)
    {
        FUZZ_CHECK(!c.scheme.empty());
        for (char ch : c.scheme)
            FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(ch)));
        FUZZ_CHECK(c.is(c.scheme));
        for (const auto& [key, value] : c.params)
        {
            FUZZ_CHECK(!key.empty());
            for (char ch : key)
                FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(ch)));
            FUZZ_CHECK(c.param(key) == value);
        }
        if (c.is("Bearer"))
        {
            auto url = token_url(c.param("realm"), c.param("service"), pull_scope("library/nginx"));
            if (url)
            {
                auto u = boost::urls::parse_absolute_uri(*url);  // what the client will request
                FUZZ_CHECK(u.has_value());
                FUZZ_CHECK(u->scheme_id() == boost::urls::scheme::https || u->scheme_id() == boost::urls::scheme::http);
                FUZZ_CHECK(!u->encoded_host().empty());
            }
        }
    }
    return 0;
}
