#pragma once
// What start-up recovery does with one parked original, decided on inspected values. Pure.
//
// Two records, both Docker's own, tell how far an interrupted swap got: the parked name says
// whether the original was running when the swap began (select.hpp), the replacement's label
// imagewatch.replaced-from names the container it replaces.
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace imagewatch::refresh {

// The fields of a container's inspect that recovery (and the swap) decide on.
struct container_facts
{
    std::string id;
    bool running = false;            // State.Running: a process exists (also when paused or restarting)
    bool up = false;                 // running, and neither paused nor restarting
    std::string health;              // State.Health.Status; "" without a healthcheck
    std::string replaced_from;       // label imagewatch.replaced-from; "" when absent
    std::set<std::string> networks;  // NetworkSettings.Networks names
    std::optional<std::chrono::seconds> stop_timeout;  // Config.StopTimeout, when set
};

container_facts facts_from_inspect(const boost::json::object& inspect);

enum class recovery_kind
{
    commit,   // the replacement is complete: remove the parked original
    restore,  // undo: the original goes back under its name, in the state it had
    foreign,  // someone else's container holds the name: touch nothing, report
};

struct recovery_plan
{
    recovery_kind kind = recovery_kind::restore;
    // For restore, in this order:
    bool remove_replacement = false;  // our unfinished replacement holds the name
    bool stop_original = false;       // it still runs, maybe under a stop Docker is still carrying out
    bool start_original = false;      // it was running when the swap began
    // Then rename the original back: last, so a crash during recovery leaves it parked and the
    // next recovery still knows whether to start it.
};

// parked: the parked original; was_running: from its parked name; current: the container now under
// the original name, if any.
//  - current is not ours (replaced-from names another container, or nothing) -> foreign;
//  - the original was running: commit when current runs (healthy, with a healthcheck) — only a
//    running, verified replacement is trusted;
//  - the original was stopped: its replacement is created and never started, so commit when
//    current exists and is on every network the original is on (networks beyond the first are
//    connected after create: a replacement missing one was interrupted before it was complete);
//  - else restore.
recovery_plan plan_recovery(const container_facts& parked, bool was_running,
                            const std::optional<container_facts>& current);

}  // namespace imagewatch::refresh
