#pragma once
// Start-up reconciliation of swaps interrupted by a crash. Orchestration over docker::api, driven
// only by what Docker records: the parked name (`<name>-imagewatch-old`, or
// `<name>-imagewatch-old-stopped` for an original that was stopped) and the replacement's label
// imagewatch.replaced-from=<old id>. The decision itself is plan_recovery (recovery.hpp).
#include "core/awaitable.hpp"
#include "docker/api.hpp"

#include "config/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::refresh {

struct reconcile_report
{
    std::vector<std::string> committed;  // replacement running: the parked original was removed
    std::vector<std::string> restored;   // original renamed back (and restarted)
    std::vector<std::string> errors;
};

// For every parked original O, as plan_recovery decides:
//  - its replacement is complete (running and verified when O was running; created, on all of O's
//    networks, when O was stopped) -> remove O;
//  - otherwise remove that replacement (only if it is ours), start O if it was running (stopping
//    it first if it still runs: Docker may still be carrying out the swap's stop), rename O back.
// Containers under the original name that are not our replacement are never touched; then O
// stays parked and an error is reported (two containers must never share one role).
// Only parked containers whose original name and labels some of `runtimes` select are handled:
// another imagewatch (or a test) may share the engine, and its swaps in flight are not ours.
// in_flight(name) is true for containers this process is swapping right now (concurrent refreshes
// of other runtimes): their parked originals are left to the swap that parked them.
awaitable<reconcile_report> reconcile(docker::api& docker, std::vector<config::runtime> runtimes,
                                      std::function<bool(std::string_view)> in_flight = {});

}  // namespace imagewatch::refresh
