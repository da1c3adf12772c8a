#pragma once
// Turns webhook matches into digest checks. Orchestration over injected probes (timers only, no
// sockets), single-threaded.
//
// Why follow-ups: a registry may announce a push before the tag is readable (distribution sends
// the manifest event from inside the PUT, before it links the tag), so a check made at once can
// still see the old digest. When the sender said which digest the tag moved to, the scheduler
// re-triggers the check with backoff until the watcher has seen that digest, a bounded number of times.
#include "core/awaitable.hpp"
#include "hooks/match.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::hooks {

// What the watcher last reported for a runtime.
struct observed
{
    std::optional<std::chrono::system_clock::time_point> last_check;
    std::optional<std::string> digest;
};

struct scheduler_settings
{
    int max_follow_ups = 4;                            // extra checks while the old digest is served
    std::chrono::milliseconds first_delay{1000};       // before the first follow-up; doubles after
    std::chrono::milliseconds poll{100};               // how often the watcher's status is looked at
    std::chrono::milliseconds check_timeout{120'000};  // give up waiting for one check to finish
};

namespace detail {
struct scheduler_state;
}

class check_scheduler
{
public:
    // trigger(name): "check now" (false: no such watch task). look(name): the watcher's status.
    check_scheduler(asio::any_io_executor ex, std::function<bool(const std::string&)> trigger,
                    std::function<observed(const std::string&)> look, scheduler_settings s = {});
    ~check_scheduler();
    check_scheduler(const check_scheduler&) = delete;
    check_scheduler& operator=(const check_scheduler&) = delete;

    // Triggers a check of each runtime now and returns the names triggered (never waits). For a
    // request with a digest, a background follow-up re-triggers until the watcher reports it;
    // a newer request for the same runtime replaces the digest it waits for.
    std::vector<std::string> schedule(const std::vector<check_request>& requests);

    // Runtimes with a follow-up still waiting (tests, shutdown).
    std::size_t following() const;

private:
    std::shared_ptr<detail::scheduler_state> st_;
};

}  // namespace imagewatch::hooks
