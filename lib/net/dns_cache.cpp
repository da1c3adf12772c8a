#include "net/dns_cache.hpp"

#include <algorithm>

namespace imagewatch::net {

std::chrono::seconds cache_ttl(long dns_ttl)
{
    return std::clamp(std::chrono::seconds(dns_ttl), min_cache_ttl, max_cache_ttl);
}

std::optional<addresses> dns_cache::find(std::string_view host, clock::time_point now) const
{
    auto it = entries_.find(host);
    if (it == entries_.end() || it->second.expires <= now)
        return std::nullopt;
    return it->second.addrs;
}

void dns_cache::store(std::string host, addresses a, std::chrono::seconds ttl, clock::time_point now)
{
    if (max_ == 0)
        return;
    if (entries_.size() >= max_ && !entries_.contains(host))
    {
        std::erase_if(entries_, [&](const auto& kv) { return kv.second.expires <= now; });
        if (entries_.size() >= max_)
            entries_.erase(std::min_element(entries_.begin(), entries_.end(), [](const auto& x, const auto& y) {
                return x.second.expires < y.second.expires;
            }));
    }
    entries_.insert_or_assign(std::move(host), entry{std::move(a), now + ttl});
}

}  // namespace imagewatch::net
