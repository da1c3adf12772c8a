#include "registry/manifest.hpp"

#include "core/json_fields.hpp"
#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

namespace imagewatch::registry {

namespace {

template <class T = int>
std::optional<T> number(std::string_view s)
{
    T v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"); the obsolete RFC 850 and asctime forms are
// not sent by registries.
std::optional<std::chrono::system_clock::time_point> parse_imf_fixdate(std::string_view s)
{
    using namespace std::chrono;
    // "Sun, 06 Nov 1994 08:49:37 GMT" is 29 characters with fixed positions.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
        s[22] != ':' || s.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    unsigned mon = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(8, 3) == months[i])
            mon = i + 1;
    auto d = number(s.substr(5, 2)), y = number(s.substr(12, 4)), h = number(s.substr(17, 2)),
         mi = number(s.substr(20, 2)), sec = number(s.substr(23, 2));
    if (!mon || !d || !y || !h || !mi || !sec)
        return std::nullopt;
    year_month_day ymd{year(*y), month(mon), day(static_cast<unsigned>(*d))};
    if (!ymd.ok() || *y < 1900 || *y > 2200 || *h > 23 || *mi > 59 || *sec > 60)  // in range of system_clock (ns)
        return std::nullopt;
    return time_point_cast<system_clock::duration>(sys_days(ymd) + hours(*h) + minutes(*mi) + seconds(*sec));
}

// containerd's normalisation of architecture aliases; may set a variant (armhf -> arm/v7).
void normalise(platform& p)
{
    auto& a = p.architecture;
    if (a == "x86_64" || a == "x86-64")
        a = "amd64";
    else if (a == "aarch64")
        a = "arm64";
    else if (a == "i386")
        a = "386";
    else if (a == "armhf" && p.variant.empty())
        a = "arm", p.variant = "v7";
    else if (a == "armel" && p.variant.empty())
        a = "arm", p.variant = "v6";
    else if (a == "armhf" || a == "armel")
        a = "arm";
    if (p.variant.size() == 1 && std::isdigit(static_cast<unsigned char>(p.variant[0])))
        p.variant = "v" + p.variant;
}

bool is_attestation(const boost::json::object& entry, const platform& p)
{
    if (p.os == "unknown" && p.architecture == "unknown")
        return true;
    const auto* ann = object_field(entry, "annotations");
    return ann && string_field(*ann, "vnd.docker.reference.type") == "attestation-manifest";
}

// "Type/Sub; charset=x" -> "Type/Sub" (a view: no copy, case kept)
std::string_view media_type_view(std::string_view content_type)
{
    return trim(content_type.substr(0, content_type.find(';')), " \t");
}

}  // namespace

bool is_valid_digest(std::string_view digest)
{
    auto colon = digest.find(':');
    if (colon == std::string_view::npos)
        return false;
    auto algo = digest.substr(0, colon), hex = digest.substr(colon + 1);
    const std::size_t length = algo == "sha256" ? 64 : algo == "sha512" ? 128 : 0;
    // A loop, not find_first_not_of: that is a memchr per character, and this runs at every check.
    return length != 0 && hex.size() == length &&
           std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string bare_media_type(std::string_view content_type) { return ascii_lower(media_type_view(content_type)); }

bool is_index_media_type(std::string_view content_type)
{
    auto t = media_type_view(content_type);
    return iequals_ascii(t, "application/vnd.oci.image.index.v1+json") ||
           iequals_ascii(t, "application/vnd.docker.distribution.manifest.list.v2+json");
}

std::optional<std::string> content_digest(std::string_view bytes, std::string_view algorithm)
{
    const EVP_MD* md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
    if (!md)
        return std::nullopt;
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, md, nullptr) != 1)
        return std::nullopt;
    return std::string(algorithm) + ':' + hex_lower(out.data(), len);
}

std::string platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

result<platform> parse_platform(std::string_view text)
{
    if (text.empty())
        return platform{"linux", "amd64", ""};
    std::vector<std::string> parts;
    std::string_view rest = text;
    while (true)
    {
        auto slash = rest.find('/');
        parts.push_back(ascii_lower(rest.substr(0, slash)));
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }
    auto word = [](const std::string& w) {
        return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    };
    if ((parts.size() != 2 && parts.size() != 3) || !std::all_of(parts.begin(), parts.end(), word))
        return make_error(errc::invalid_argument, "platform \"" + std::string(text) +
                                                      "\": expected os/arch or os/arch/variant, e.g. linux/amd64");
    platform p{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
    normalise(p);
    return p;
}

result<std::string> select_platform_manifest(std::string_view index_json, const platform& want)
{
    boost::system::error_code ec;
    auto jv = boost::json::parse(index_json, ec);
    if (ec || !jv.is_object())
        return make_error(errc::bad_response, "the index is not a JSON object");
    const auto* list = jv.get_object().if_contains("manifests");
    if (!list || !list->is_array())
        return make_error(errc::bad_response, "the index has no \"manifests\" array");

    std::string available;  // "linux/amd64, linux/arm64/v8"
    for (const auto& item : list->get_array())
    {
        if (!item.is_object())
            continue;
        const auto& entry = item.get_object();
        const auto* po = object_field(entry, "platform");
        if (!po)
            continue;
        platform written{string_field(*po, "os"), string_field(*po, "architecture"), string_field(*po, "variant")};
        if (written.os.empty() || written.architecture.empty() || is_attestation(entry, written))
            continue;
        platform have{ascii_lower(written.os), ascii_lower(written.architecture), ascii_lower(written.variant)};
        normalise(have);
        if (have.architecture == "arm64" && have.variant.empty())
            have.variant = "v8";
        available += (available.empty() ? "" : ", ") + written.str();
        if (have.os != want.os || have.architecture != want.architecture)
            continue;
        if (!want.variant.empty() && have.variant != want.variant)
            continue;
        auto digest = string_field(entry, "digest");
        if (!is_valid_digest(digest))
            return make_error(errc::bad_response, "the index entry for " + written.str() + " has a malformed digest");
        return digest;
    }
    return make_error(errc::not_found, "no manifest for " + want.str() + " (the index has " +
                                           (available.empty() ? "no platform manifests" : available) + ")");
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now)
{
    value = trim(value, " \t");
    if (value.empty())
        return std::nullopt;
    if (std::isdigit(static_cast<unsigned char>(value.front())))
    {
        auto secs = number<long long>(value);
        return secs ? std::optional(std::chrono::seconds(*secs)) : std::nullopt;
    }
    auto when = parse_imf_fixdate(value);
    if (!when)
        return std::nullopt;
    if (*when <= now)
        return std::chrono::seconds(0);
    // Round up: waiting a fraction too long is harmless, too short is another 429.
    return std::chrono::ceil<std::chrono::seconds>(*when - now);
}

}  // namespace imagewatch::registry
