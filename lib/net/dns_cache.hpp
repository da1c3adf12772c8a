#pragma once
// Answers of host name lookups, kept for their TTL. Pure (the caller passes the time).
//
// The TTL is clamped (cache_ttl): a floor so a name with TTL 0 (or one from /etc/hosts, which has
// none) is not looked up again for every connection of a sweep, a ceiling so a moved registry is
// found again within minutes. Bounded: when full, expired entries go first, then the one that
// would expire soonest.
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::net {

using addresses = std::vector<boost::asio::ip::address>;

inline constexpr std::chrono::seconds min_cache_ttl{5};
inline constexpr std::chrono::seconds max_cache_ttl{300};

// dns_ttl (seconds, as the answer said; negative = none) clamped to [min_cache_ttl, max_cache_ttl].
std::chrono::seconds cache_ttl(long dns_ttl);

class dns_cache
{
public:
    using clock = std::chrono::steady_clock;

    explicit dns_cache(std::size_t max_entries = 512) : max_(max_entries) {}

    // The addresses of host (lower case) while they are fresh at `now`.
    std::optional<addresses> find(std::string_view host, clock::time_point now) const;
    void store(std::string host, addresses a, std::chrono::seconds ttl, clock::time_point now);
    std::size_t size() const { return entries_.size(); }

private:
    struct entry
    {
        addresses addrs;
        clock::time_point expires;
    };
    std::map<std::string, entry, std::less<>> entries_;
    std::size_t max_;
};

}  // namespace imagewatch::net
