#include "registry/token.hpp"

#include "core/json_fields.hpp"
#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <memory>
#include <new>

#include <openssl/evp.h>

namespace imagewatch::registry {

namespace {

constexpr std::chrono::seconds default_expires_in{60};
constexpr std::chrono::seconds max_margin{30};

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
    t.value = string_field(obj, "token");
    if (t.value.empty())
        t.value = string_field(obj, "access_token");
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
        if (auto cur = it++; now >= cur->second.until)  // it moved on before drop(cur) erases cur
            drop(cur);
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
        EVP_DigestUpdate(ctx.get(), &nul, 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), password.data(), password.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
        throw std::bad_alloc();  // only out of memory makes SHA-256 fail
    return hex_lower(md, len);
}

}  // namespace imagewatch::registry
