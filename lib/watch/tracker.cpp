#include "watch/tracker.hpp"

namespace imagewatch::watch {

decision tracker::observe(const std::string& runtime, const observation& o)
{
    auto& e = state_[runtime];
    const std::optional<observation> prev = e.recorded;
    e.recorded = o;
    if (!prev)
    {
        // First observation after start: a restart alone triggers nothing; an update published
        // while we were down is applied when apply_on_start is on (SPEC §4).
        if (apply_on_start_ && o.local_stale.value_or(false))
        {
            e.before_refresh = prev;
            return decision::refresh;
        }
        return decision::seed;
    }
    if (prev->effective == o.effective)
        return decision::unchanged;
    e.before_refresh = prev;
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

void tracker::forget(const std::string& runtime) { state_.erase(runtime); }

}  // namespace imagewatch::watch
