#pragma once
// The digest watcher (docs/watching.md): every runtime's tag digest is checked every interval (+ jitter)
// on the io_context; the tracker decides and the refresh_queue refreshes. A sleeping runtime is an
// entry in a schedule, a due one gets a coroutine for its check. One slow, dead or rate-limiting
// registry only delays its own runtimes.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "docker/api.hpp"
#include "registry/client.hpp"
#include "watch/refresh_queue.hpp"
#include "watch/tracker.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace imagewatch::watch {

struct runtime_status
{
    std::string name;
    std::string image;
    std::optional<std::string> digest;
    std::optional<std::chrono::system_clock::time_point> last_check;
    std::string last_result = "pending";  // pending|unchanged|changed|deferred|error|seeded
    std::optional<std::string> last_error;
    std::optional<std::chrono::system_clock::time_point> next_check;
    int containers = 0;
    std::optional<refresh::rollout_status> rollout;  // filled by the daemon from refresh::service
};

class watcher
{
public:
    // All references must outlive the watcher. platform() is asked at each check (config or daemon).
    watcher(asio::any_io_executor ex, registry::client& registry, docker::api& docker, refresh_queue& queue,
            std::function<std::string()> platform);
    ~watcher();

    // Starts, stops or restarts runtime tasks so they match cfg (start-up and every reload).
    // Unchanged runtimes keep their task, state and schedule; interval/jitter/enabled apply at
    // their next wait. A removed or changed runtime's task finishes a swap in progress first.
    void apply(const config::config& cfg);

    // "Check now" (webhooks, tests): skips the runtime's error backoff and any shared-result
    // reuse, but still honours a registry's Retry-After. False if the runtime is unknown.
    bool trigger(const std::string& runtime);

    // Soft stop of every task (shutdown). Tasks leave at their next suspension point.
    void stop();

    std::vector<runtime_status> status() const;  // config order
    // One runtime's status without copying the others (webhooks look up each runtime they name).
    const runtime_status* status_of(const std::string& runtime) const;
    // Watched runtimes (after stop(): those still in a check), plus removed ones finishing a check.
    std::size_t tasks() const;
    // After stop(): no check and no scheduler coroutine is left, so the watcher may be destroyed.
    bool drained() const { return !loop_running_ && tasks() == 0; }

private:
    struct task;
    struct shared_check;
    struct host_checks;
    // Scheduling: due_ holds every idle runtime's next check; one coroutine (run_schedule) sleeps
    // on tick_ until the earliest and hands due runtimes to dispatch, which starts a check when
    // the registry host has a free slot and queues the runtime there otherwise.
    void schedule(const std::shared_ptr<task>& t, std::chrono::steady_clock::time_point when);
    void unschedule(task& t);
    // An idle task's next check: now when triggered, else at `at` (none while watch is disabled).
    void resume(const std::shared_ptr<task>& t, std::chrono::steady_clock::time_point at);
    awaitable<void> run_schedule();
    void dispatch(std::shared_ptr<task> t);
    void start(std::shared_ptr<task> t, std::shared_ptr<host_checks> h);
    void release(const std::shared_ptr<host_checks>& h);  // a check's slot is free again
    duration next_wait(const task& t);
    // One check of t (forced when it was triggered), then maybe its refresh.
    awaitable<void> check_once(std::shared_ptr<task> t, std::shared_ptr<host_checks> slot);
    awaitable<std::shared_ptr<const result<registry::resolved>>> resolve_shared(task& t, std::string platform,
                                                                                duration max_age);
    duration jittered(duration base, duration jitter);

    asio::any_io_executor ex_;
    registry::client& registry_;
    docker::api& docker_;
    refresh_queue& queue_;
    std::function<std::string()> platform_;
    config::watch_settings watch_;  // of the config applied last
    tracker tracker_{true};
    std::vector<std::shared_ptr<task>> tasks_;                        // config order
    std::unordered_map<std::string, std::shared_ptr<task>> by_name_;  // the same tasks, by runtime name
    std::vector<std::shared_ptr<task>> retiring_;                     // removed or changed, finishing a check
    std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<task>> due_;
    asio::steady_timer tick_;  // run_schedule's: expires at the earliest entry of due_
    bool loop_running_ = false;
    std::map<std::string, std::shared_ptr<shared_check>> checks_;  // image|platform -> last/in-flight
    std::mt19937_64 rng_{std::random_device{}()};
    // Checks in flight per registry host: a dead host may fill its own slots, never another's.
    static constexpr std::size_t max_checks_in_flight = 32;
    std::map<std::string, std::shared_ptr<host_checks>, std::less<>> host_checks_;
    bool stopped_ = false;
};

}  // namespace imagewatch::watch
