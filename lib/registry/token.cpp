#include "registry/token.hpp"

#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <memory>
#include <new>

#include <openssl/evp.h>

namespace imagewatch::registry {

namespace {

constexpr std::chrono::seconds default_expires_in{60};
constexpr std::chrono::seconds max_margin{30};

// Reads exactly n digits at s[i..]; advances i.
bool digits(std::string_view s, std::size_t& i, std::size_t n, int& out)
{
    if (i + n > s.size())
        return false;
    out = 0;
    for (std::size_t k = 0; k < n; ++k)
    {
        char c = s[i + k];
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + (c - '0');
    }
    i += n;
    return true;
}

bool expect(std::string_view s, std::size_t& i, char c)
{
    if (i >= s.size() || s[i] != c)
        return false;
    ++i;
    return true;
}

}  // namespace

std::string pull_scope(std::string_view repository) { return "repository:" + std::string(repository) + ":pull"; }

result<std::string> token_url(std::string_view realm, std::string_view service, std::string_view scope)
{
    auto parsed = boost::urls::parse_absolute_uri(realm);
    if (!parsed)
        return make_error(errc::bad_response, "token realm \"" + std::string(realm) + "\" is not an absolute URL");
    boost::urls::url u(*parsed);
    if (u.scheme_id() != boost::urls::scheme::https && u.scheme_id() != boost::urls::scheme::http)
        return make_error(errc::bad_response, "token realm \"" + std::string(realm) + "\" is not http(s)");
    if (u.encoded_host().empty())
        return make_error(errc::bad_response, "token realm \"" + std::string(realm) + "\" has no host");
    u.remove_fragment();
    if (!service.empty())
        u.params().append({"service", service});
    if (!scope.empty())
        u.params().append({"scope", scope});
    return std::string(u.buffer());
}

result<token> parse_token_response(std::string_view body)
{
    boost::system::error_code ec;
    auto jv = boost::json::parse(body, ec);
    if (ec || !jv.is_object())
        return make_error(errc::bad_response, "token response is not a JSON object");
    const auto& obj = jv.get_object();

    token t;
    for (const char* key : {"token", "access_token"})
    {
        const auto* v = obj.if_contains(key);
        if (v && v->is_string() && !v->get_string().empty())
        {
            t.value = std::string(v->get_string());
            break;
        }
    }
    if (t.value.empty())
        return make_error(errc::bad_response, "token response has neither \"token\" nor \"access_token\"");

    t.expires_in = default_expires_in;
    if (const auto* v = obj.if_contains("expires_in"))
    {
        double secs = 0;
        if (v->is_int64())
            secs = static_cast<double>(v->get_int64());
        else if (v->is_uint64())
            secs = static_cast<double>(v->get_uint64());
        else if (v->is_double())
            secs = v->get_double();
        else if (!v->is_null())
            return make_error(errc::bad_response, "token response: \"expires_in\" is not a number");
        // A lifetime over ten years is nonsense; treat it like a missing one rather than overflow.
        if (secs >= 1 && secs < 10.0 * 365 * 86400)
            t.expires_in = std::chrono::seconds(static_cast<long long>(secs));
    }
    if (const auto* v = obj.if_contains("issued_at"); v && v->is_string())
        t.issued_at = parse_rfc3339(v->get_string());
    return t;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s)
{
    using namespace std::chrono;
    std::size_t i = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!digits(s, i, 4, y) || !expect(s, i, '-') || !digits(s, i, 2, mo) || !expect(s, i, '-') ||
        !digits(s, i, 2, d))
        return std::nullopt;
    if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        return std::nullopt;
    ++i;
    if (!digits(s, i, 2, h) || !expect(s, i, ':') || !digits(s, i, 2, mi) || !expect(s, i, ':') ||
        !digits(s, i, 2, sec))
        return std::nullopt;
    nanoseconds frac{0};
    if (i < s.size() && s[i] == '.')
    {
        ++i;
        long long scale = 100'000'000, n = 0;
        std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
        {
            n += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == start)
            return std::nullopt;
        frac = nanoseconds(n);
    }
    minutes offset{0};
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z'))
        ++i;
    else if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    {
        int sign = s[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0, om = 0;
        if (!digits(s, i, 2, oh) || !expect(s, i, ':') || !digits(s, i, 2, om))
            return std::nullopt;
        offset = minutes(sign * (oh * 60 + om));
    }
    else
        return std::nullopt;
    if (i != s.size())
        return std::nullopt;

    year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!ymd.ok() || y < 1900 || y > 2200 || h > 23 || mi > 59 || sec > 60)  // in range of system_clock (ns)
        return std::nullopt;
    auto tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) - offset;
    return time_point_cast<system_clock::duration>(tp + frac);
}

token_cache::clock::time_point token_cache::usable_until(clock::time_point received, std::chrono::seconds expires_in)
{
    expires_in = std::min(expires_in, max_lifetime);
    auto margin = std::min<clock::duration>(expires_in / 10, max_margin);
    return received + expires_in - margin;
}

void token_cache::drop(std::unordered_map<token_key, entry, token_key_hash>::iterator it)
{
    recency_.erase(it->second.used);
    entries_.erase(it);
}

std::optional<std::string> token_cache::get(const token_key& key, clock::time_point now)
{
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    if (now >= it->second.until)
    {
        drop(it);
        return std::nullopt;
    }
    auto& e = it->second;
    recency_.splice(recency_.begin(), recency_, e.used);
    if (!e.head)
        return e.rest;
    std::string value;
    value.reserve(e.head->size() + e.rest.size());
    value.append(*e.head).append(e.rest);
    return value;
}

std::shared_ptr<const std::string> token_cache::intern(std::string_view head)
{
    if (auto it = heads_.find(head); it != heads_.end())
        if (auto shared = it->second.lock())
            return shared;
    std::erase_if(heads_, [](const auto& kv) { return kv.second.expired(); });  // a rotated key's
    auto shared = std::make_shared<const std::string>(head);
    heads_.insert_or_assign(std::string(head), shared);
    return shared;
}

void token_cache::put(token_key key, std::string value, std::chrono::seconds expires_in, clock::time_point now)
{
    for (auto it = entries_.begin(); it != entries_.end();)
    {
        auto next = std::next(it);
        if (now >= it->second.until)
            drop(it);
        it = next;
    }
    entry e{nullptr, {}, usable_until(now, expires_in), {}};
    // A JWT (three base64url parts) shares its header; any other token is kept whole.
    if (auto dot = value.find('.'); dot != std::string::npos && value.find('.', dot + 1) != std::string::npos)
    {
        e.head = intern(std::string_view(value).substr(0, dot + 1));
        e.rest = value.substr(dot + 1);
    }
    else
        e.rest = std::move(value);

    if (auto it = entries_.find(key); it != entries_.end())
    {
        e.used = it->second.used;
        recency_.splice(recency_.begin(), recency_, e.used);
        it->second = std::move(e);
        return;
    }
    while (entries_.size() >= max_entries_)
        drop(entries_.find(*recency_.back()));
    auto it = entries_.emplace(std::move(key), std::move(e)).first;
    recency_.push_front(&it->first);
    it->second.used = recency_.begin();
}

void token_cache::erase(const token_key& key)
{
    if (auto it = entries_.find(key); it != entries_.end())
        drop(it);
}

std::string credential_identity(std::string_view username, std::string_view password)
{
    // Fed piece by piece, so the secret is never copied into a joined buffer.
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    const char nul = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), username.data(), username.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), &nul, 1) != 1 || EVP_DigestUpdate(ctx.get(), password.data(), password.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
        throw std::bad_alloc();  // only out of memory makes SHA-256 fail
    return hex_lower(md, len);
}

}  // namespace imagewatch::registry
