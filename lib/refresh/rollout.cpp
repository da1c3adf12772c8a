#include "refresh/rollout.hpp"

#include <algorithm>

namespace imagewatch::refresh {

rollout_window::rollout_window(const std::vector<planned_swap>& steps, const std::vector<candidate>& candidates,
                               int canary, int parallelism, double max_failures)
    : width_(static_cast<std::size_t>(std::max(parallelism, 1))),
      canaries_(std::min(static_cast<std::size_t>(std::max(canary, 0)), steps.size())),
      max_failures_(max_failures),
      parent_step_(steps.size(), SIZE_MAX),
      done_(steps.size()),
      batch_(std::min(width_, steps.size() - canaries_))
{
    std::vector<std::size_t> step_of(candidates.size(), SIZE_MAX);
    for (std::size_t s = 0; s < steps.size(); ++s)
        step_of[steps[s].index] = s;
    for (std::size_t s = 0; s < steps.size(); ++s)
        if (auto parent = find_candidate(candidates, candidates[steps[s].index].network_parent);
            parent < candidates.size() && step_of[parent] < s)  // the plan puts parents first
            parent_step_[s] = step_of[parent];
}

std::optional<std::size_t> rollout_window::next()
{
    if (halted_ || stopped_ || next_ >= done_.size() || in_flight_ >= width_)
        return std::nullopt;
    if (next_ >= canaries_ && !canaries_done())
        return std::nullopt;
    // A dependant's recreate names its parent's new container: the parent's swap must be over.
    if (auto parent = parent_step_[next_]; parent != SIZE_MAX && !done_[parent])
        return std::nullopt;
    ++in_flight_;
    return next_++;
}

void rollout_window::finished(std::size_t step, bool failed)
{
    --in_flight_;
    done_[step] = true;
    if (is_canary(step))
    {
        ++canaries_finished_;
        halted_ = halted_ || failed;
        return;
    }
    recent_.push_back(failed);
    if (recent_.size() > batch_)
        recent_.erase(recent_.begin());
    const auto failures = static_cast<std::size_t>(std::count(recent_.begin(), recent_.end(), true));
    halted_ = halted_ || static_cast<double>(failures) / static_cast<double>(batch_) > max_failures_;
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
