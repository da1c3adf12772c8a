#pragma once
// The decisions of a progressive rollout, on values. Pure.
//
//   plan_waves      which swaps run together: canary waves first, then waves of `parallelism`,
//                   a network dependant always in a later wave than its parent
//   wave_halts      whether a finished wave stops the rollout
//   bad_images      per runtime, the image whose rollout halted: not retried until a newer image
//                   appears or an operator forces it
//   min_age_wait    whether a new image is old enough to apply (cool-down against a bad push)
//   rollout_status  what /admin/status shows per runtime
#include "refresh/plan.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::refresh {

struct wave
{
    std::vector<std::size_t> steps;  // indexes into the planned swaps
    bool canary = false;
};

// Splits the planned swaps (in their order) into waves. The first `canary` swaps form canary
// waves (at most `parallelism` each); the rest waves of at most `parallelism`. A swap whose
// network parent is in the current wave opens a new one, so the parent is verified first.
std::vector<wave> plan_waves(const std::vector<planned_swap>& steps, const std::vector<candidate>& candidates,
                             int canary, int parallelism);

// A canary wave halts on any failure; a later wave when its failure ratio exceeds max_failures.
bool wave_halts(const wave& w, std::size_t failed, double max_failures);

class bad_images
{
public:
    void mark(const std::string& runtime, const std::string& image_id) { bad_[runtime] = image_id; }
    bool is_bad(const std::string& runtime, const std::string& image_id) const
    {
        auto it = bad_.find(runtime);
        return it != bad_.end() && it->second == image_id;
    }
    // After a good rollout (a newer image, or a forced retry that passed).
    void clear(const std::string& runtime) { bad_.erase(runtime); }
    std::optional<std::string> bad(const std::string& runtime) const
    {
        auto it = bad_.find(runtime);
        return it == bad_.end() ? std::nullopt : std::optional(it->second);
    }

private:
    std::map<std::string, std::string> bad_;  // runtime -> image ID
};

// nullopt: apply now. Otherwise the time the image is old enough. An image whose creation time is
// unknown applies (a missing field must not hold updates back forever).
std::optional<std::chrono::system_clock::time_point> min_age_wait(
    std::optional<std::chrono::system_clock::time_point> created, std::chrono::milliseconds min_age,
    std::chrono::system_clock::time_point now);

enum class rollout_state
{
    pending_window,  // a new image waits for the rollout window
    deferred_until,  // a new image waits for min_age
    in_progress,
    halted,  // a canary or a batch failed: the image is marked bad for the runtime
    done,
};
std::string_view to_string(rollout_state s);

struct rollout_status
{
    std::string digest;  // the image being rolled out (registry digest when known, else image ID)
    rollout_state state = rollout_state::done;
    std::size_t replaced = 0;
    std::size_t failed = 0;
    std::size_t remaining = 0;
    std::optional<std::chrono::system_clock::time_point> until;  // pending_window / deferred_until
};

}  // namespace imagewatch::refresh
