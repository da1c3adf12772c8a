#include "refresh/rollout.hpp"

#include <algorithm>

namespace imagewatch::refresh {

std::vector<wave> plan_waves(const std::vector<planned_swap>& steps, const std::vector<candidate>& candidates,
                             int canary, int parallelism)
{
    const auto width = static_cast<std::size_t>(std::max(parallelism, 1));
    auto canaries_left = static_cast<std::size_t>(std::max(canary, 0));
    std::vector<wave> waves;
    std::vector<std::size_t> wave_of(candidates.size(), SIZE_MAX);  // candidate -> its wave
    for (std::size_t s = 0; s < steps.size(); ++s)
    {
        const auto& step = steps[s];
        const bool is_canary = canaries_left > 0;
        const std::size_t parent = find_candidate(candidates, candidates[step.index].network_parent);
        const bool parent_here = !waves.empty() && parent < candidates.size() && wave_of[parent] == waves.size() - 1;
        const bool open_new =
            waves.empty() || waves.back().canary != is_canary || waves.back().steps.size() >= width || parent_here;
        if (open_new)
            waves.push_back({{}, is_canary});
        waves.back().steps.push_back(s);
        wave_of[step.index] = waves.size() - 1;
        if (is_canary)
            --canaries_left;
    }
    return waves;
}

bool wave_halts(const wave& w, std::size_t failed, double max_failures)
{
    if (failed == 0 || w.steps.empty())
        return false;
    if (w.canary)
        return true;
    return static_cast<double>(failed) / static_cast<double>(w.steps.size()) > max_failures;
}

std::optional<std::chrono::system_clock::time_point> min_age_wait(
    std::optional<std::chrono::system_clock::time_point> created, std::chrono::milliseconds min_age,
    std::chrono::system_clock::time_point now)
{
    if (!created || min_age.count() <= 0)
        return std::nullopt;
    const auto ready = *created + min_age;
    if (ready <= now)
        return std::nullopt;
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(ready);
}

std::string_view to_string(rollout_state s)
{
    switch (s)
    {
    case rollout_state::pending_window: return "pending_window";
    case rollout_state::deferred_until: return "deferred_until";
    case rollout_state::in_progress: return "in_progress";
    case rollout_state::halted: return "halted";
    case rollout_state::done: return "done";
    }
    return "done";
}

}  // namespace imagewatch::refresh
