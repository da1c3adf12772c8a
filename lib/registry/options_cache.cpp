#include "registry/options_cache.hpp"

namespace imagewatch::registry {

host_options options_cache::get(std::string_view host, clock::time_point now, const lookup& look)
{
    if (auto it = entries_.find(host); it != entries_.end() && now - it->second.at < max_age_)
        return it->second.options;
    // Realm hosts are a registry's choice, so the map must not keep every host it ever saw:
    // stale entries go, at most once per max_age.
    if (now - swept_ >= max_age_)
    {
        std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.at >= max_age_; });
        swept_ = now;
    }
    auto o = look(host);
    entries_.insert_or_assign(std::string(host), entry{o, now});
    return o;
}

}  // namespace imagewatch::registry
