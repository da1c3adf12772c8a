#pragma once
// Registry bearer tokens (the distribution token protocol): the token URL, the token response and a
// cache. Pure: time is always passed in by the caller.
#include "core/error.hpp"
#include "core/rfc3339.hpp"

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace imagewatch::registry {

// "repository:<repository>:pull", the only scope a digest check needs.
std::string pull_scope(std::string_view repository);

// realm + "?service=..&scope=.." (query parameters the realm already has are kept; an empty
// service or scope is left out). Fails with errc::bad_response when realm is not an absolute
// http(s) URL with a host.
result<std::string> token_url(std::string_view realm, std::string_view service, std::string_view scope);

struct token
{
    std::string value;                  // secret: never log it
    std::chrono::seconds expires_in{};  // 60 s when the server leaves it out (distribution's minimum)
    // Server time the token was issued, when it says so (informational: the cache measures
    // lifetimes on the caller's clock from the moment the answer arrived, immune to clock skew).
    std::optional<std::chrono::system_clock::time_point> issued_at;
};

// Parses the token endpoint's JSON: `token`, else `access_token` (non-empty string); `expires_in`
// (a positive number, default 60 s); `issued_at` (RFC 3339, optional; a malformed one is ignored).
// Fails with errc::bad_response, never quoting the body (it may hold a token).
result<token> parse_token_response(std::string_view body);

// Exposed for tests (it lives in core: Docker writes the same form).
using ::imagewatch::parse_rfc3339;

// "" for an anonymous request, else a SHA-256 (hex) of username NUL password: tells whose token a
// cache entry holds without keeping a second copy of the secret. Pure.
std::string credential_identity(std::string_view username, std::string_view password);

// Whose token, for what. The registry host and the credential identity are part of the key because
// the realm and service come from the registry's challenge: a registry naming another registry's
// realm must not be handed a token obtained with the other registry's credentials.
struct token_key
{
    std::string registry;  // the registry host that sent the challenge, as in image references
    std::string identity;  // credential_identity of what the token request presented
    std::string realm;
    std::string service;
    std::string scope;
    friend auto operator<=>(const token_key&, const token_key&) = default;
};

struct token_key_hash
{
    std::size_t operator()(const token_key& k) const noexcept
    {
        std::hash<std::string> h;
        std::size_t seed = 0;
        for (const auto* part : {&k.registry, &k.identity, &k.realm, &k.service, &k.scope})
            seed = seed * 1000003 ^ h(*part);
        return seed;
    }
};

// Tokens by token_key. An entry is served until a safety margin before it ends (10% of its
// lifetime, at most 30 s) so a token never expires between lookup and use.
// Bounded, because a registry chooses realms and lifetimes: a lifetime counts for at most
// max_lifetime, and beyond max_entries the least recently used entry goes.
// A JWT's header is stored once for all tokens that share it: distribution's and Docker Hub's
// tokens carry the signing certificate chain (x5c) there, about 1.5 KiB of a 2.2 KiB token, the
// same in every token of an issuer (measured: 2.2 MB of tokens with 1000 watched repositories).
class token_cache
{
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds max_lifetime{3600};
    static constexpr std::size_t default_max_entries = 1024;

    explicit token_cache(std::size_t max_entries = default_max_entries)
        : max_entries_(std::max<std::size_t>(1, max_entries))
    {}
    token_cache(const token_cache&) = delete;  // recency_ points into entries_
    token_cache& operator=(const token_cache&) = delete;

    std::optional<std::string> get(const token_key& key, clock::time_point now);
    // Stores a token received at `now`; drops entries that have expired meanwhile, then the least
    // recently used ones beyond max_entries.
    void put(token_key key, std::string value, std::chrono::seconds expires_in, clock::time_point now);
    // Forgets a token the registry refused.
    void erase(const token_key& key);
    std::size_t size() const { return entries_.size(); }
    std::size_t headers() const { return heads_.size(); }  // distinct JWT headers kept (tests)

    // The instant after which a token received at `received` with lifetime `expires_in` is not
    // served (expires_in capped at max_lifetime).
    static clock::time_point usable_until(clock::time_point received, std::chrono::seconds expires_in);

private:
    struct entry
    {
        std::shared_ptr<const std::string> head;  // "<JWT header>." shared, or empty
        std::string rest;                         // the remainder of the token
        clock::time_point until;
        std::list<const token_key*>::iterator used;  // place in recency_ (front = most recent)
    };
    std::shared_ptr<const std::string> intern(std::string_view head);
    void drop(std::unordered_map<token_key, entry, token_key_hash>::iterator it);
    std::size_t max_entries_;
    std::unordered_map<token_key, entry, token_key_hash> entries_;
    std::list<const token_key*> recency_;  // keys live in entries_ (node-based: stable addresses)
    std::map<std::string, std::weak_ptr<const std::string>, std::less<>> heads_;
};

}  // namespace imagewatch::registry
