#include "watch/tracker.hpp"

namespace imagewatch::watch {

decision tracker::observe(const std::string& runtime, const observation& o)
{
    auto& e = state_[runtime];
    if (!e.recorded)
    {
        e.recorded = o;
        // First observation after start: a restart alone triggers nothing; an update published
        // while we were down is applied when apply_on_start is on.
        if (apply_on_start_ && o.local_stale.value_or(false))
        {
            e.before_refresh.emplace(std::nullopt);  // a failed refresh forgets this observation
            return decision::refresh;
        }
        return decision::seed;
    }
    if (e.recorded->effective == o.effective)
    {
        e.recorded->digest = o.digest;  // in place: the common case copies nothing new
        e.recorded->local_stale = o.local_stale;
        return decision::unchanged;
    }
    e.before_refresh.emplace(std::move(e.recorded));
    e.recorded = o;
    return decision::refresh;
}

void tracker::settle(const std::string& runtime, bool ok)
{
    auto it = state_.find(runtime);
    if (it == state_.end() || !it->second.before_refresh)
        return;
    if (!ok)
        it->second.recorded = *it->second.before_refresh;
    it->second.before_refresh.reset();
}

std::optional<std::string> tracker::recorded(const std::string& runtime) const
{
    auto it = state_.find(runtime);
    if (it == state_.end() || !it->second.recorded)
        return std::nullopt;
    return it->second.recorded->digest;
}

bool tracker::seen(const std::string& runtime) const
{
    auto it = state_.find(runtime);
    return it != state_.end() && it->second.recorded.has_value();
}

void tracker::forget(const std::string& runtime) { state_.erase(runtime); }

}  // namespace imagewatch::watch
