// Fuzz target: outside bytes on their way into JSON answers. valid_utf8 and utf8_excerpt always give
// well-formed UTF-8 within their limit; is_valid_utf8 agrees with Boost.JSON's own UTF-8 check; and
// a refresh result carrying an error made from the bytes serializes to JSON that parses back.
#include "core/error.hpp"
#include "core/text.hpp"
#include "fuzz_support.hpp"
#include "refresh/result.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

using namespace imagewatch;

namespace {

// Parses JSON text; a parse failure (invalid UTF-8 included) is a violation.
boost::json::value parse_back(const std::string& text)
{
    boost::json::error_code ec;
    auto v = boost::json::parse(text, ec);
    FUZZ_CHECK(!ec);
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::size_t max = data[0];  // the first byte is the excerpt limit
    const auto in = fuzz::as_view(data + 1, size - 1);

    const auto out = valid_utf8(in, max);
    FUZZ_CHECK(is_valid_utf8(out));
    FUZZ_CHECK(out.size() <= max);
    const auto ex = utf8_excerpt(in, max);
    FUZZ_CHECK(is_valid_utf8(ex));
    FUZZ_CHECK(ex.size() <= max + 3);
    const auto whole = valid_utf8(in);
    FUZZ_CHECK(is_valid_utf8(whole));
    FUZZ_CHECK(whole.starts_with(out));  // the cut keeps a prefix of the whole answer
    if (is_valid_utf8(in))
        FUZZ_CHECK(whole == in);

    // An independent oracle: Boost.JSON rejects a string literal with ill-formed UTF-8.
    if (in.find_first_of(std::string_view("\"\\\0\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
                                          34)) == std::string_view::npos)
    {
        boost::json::error_code ec;
        (void)boost::json::parse("\"" + std::string(in) + "\"", ec);
        FUZZ_CHECK(!ec == is_valid_utf8(in));
    }

    // The bytes as a registry error, wrapped with more outside bytes, in a refresh result.
    const auto e = make_error(errc::failed, std::string(in)).wrap(in.substr(0, max % 16));
    FUZZ_CHECK(is_valid_utf8(e.message));
    refresh::refresh_result r;
    r.failed.push_back("rt");
    r.errors.push_back({"rt", "", e.message});
    auto v = parse_back(refresh::to_json(r));
    FUZZ_CHECK(v.at("errors").at(0).at("error").as_string() == e.message);
    parse_back(refresh::to_json(refresh::outcome{r, e.message}));
    return 0;
}
