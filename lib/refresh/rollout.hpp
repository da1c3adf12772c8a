#pragma once
// The decisions of a progressive rollout, on values. Pure.
//
//   rollout_window  which swap may start next (the canaries first, then up to `parallelism` in
//                   flight, a network dependant only after its parent) and whether the swaps
//                   that finished halt the rollout
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

// A sliding window over the planned swaps, in plan order: a new swap starts as soon as one in
// flight finishes, so one slow container holds back one slot, not a whole batch. The first
// `canary` swaps run first (at most `parallelism` at once) and any failure among them halts; the
// rest start only once every canary is verified. After the canaries, the rollout halts when the
// failure ratio among the last `parallelism` finished swaps is above `max_failures` (fewer swaps
// than that: all of them), decided as soon as the failures already there exceed it.
class rollout_window
{
public:
    rollout_window(const std::vector<planned_swap>& steps, const std::vector<candidate>& candidates, int canary,
                   int parallelism, double max_failures);

    // The step (index into the planned swaps) to start now, or nullopt: the window is full, the
    // canaries are still running, the next step's network parent is in flight, or nothing is left.
    std::optional<std::size_t> next();
    void finished(std::size_t step, bool failed);
    // Starts nothing more (Docker is gone: not the image's fault, so not a halt).
    void stop() { stopped_ = true; }

    bool halted() const { return halted_; }
    std::size_t width() const { return width_; }  // parallelism, at least 1
    std::size_t canaries() const { return canaries_; }
    bool canaries_done() const { return canaries_finished_ == canaries_; }
    bool is_canary(std::size_t step) const { return step < canaries_; }
    std::size_t in_flight() const { return in_flight_; }

private:
    std::size_t width_;
    std::size_t canaries_;
    double max_failures_;
    std::vector<std::size_t> parent_step_;  // step -> its network parent's step, or SIZE_MAX
    std::vector<bool> done_;
    std::size_t next_ = 0;
    std::size_t in_flight_ = 0;
    std::size_t canaries_finished_ = 0;
    std::size_t batch_;         // the batch the failure ratio is taken over
    std::vector<bool> recent_;  // the last finished swaps after the canaries (at most batch_)
    bool halted_ = false;
    bool stopped_ = false;
};

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
