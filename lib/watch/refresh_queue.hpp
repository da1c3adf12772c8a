#pragma once
// Per-runtime coalescing in front of refresh::service (docs/watching.md "Refresh queue"): refreshes of one runtime never
// overlap, and every trigger that arrives while one runs (watcher, admin POST, webhook) joins a
// single follow-up run and receives its outcome. Orchestration, single-threaded.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "refresh/service.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace imagewatch::watch {

class refresh_queue
{
public:
    // settings() is read at the start of each run so live config edits apply to the next run.
    refresh_queue(asio::any_io_executor ex, refresh::service& svc, std::function<refresh::settings()> settings);

    // Runs a refresh of one runtime, or joins the follow-up of the one in progress. Joiners of a
    // follow-up share one run: it is automatic only if every joiner's request is, forced if any is.
    awaitable<refresh::outcome> run(config::runtime rt, refresh::request rq);
    awaitable<refresh::outcome> run(config::runtime rt, bool recreate)
    {
        refresh::request rq;
        rq.recreate = recreate;
        return run(std::move(rt), std::move(rq));
    }

    // Runs several runtimes concurrently and merges their outcomes in the given order (the admin
    // POST for "all runtimes"). A fatal outcome of any run makes the merge fatal.
    awaitable<refresh::outcome> run_all(std::vector<config::runtime> rts, refresh::request rq);

    bool busy() const;

    // Called once per finished run with its runtime and outcome (joiners of a run share one call);
    // must not block: the daemon queues an outbound notification here.
    void on_outcome(std::function<void(const config::runtime&, const refresh::outcome&)> f)
    {
        on_outcome_ = std::move(f);
    }

private:
    struct batch;
    struct slot
    {
        bool running = false;
        std::shared_ptr<batch> pending;
    };
    awaitable<refresh::outcome> execute(config::runtime rt, refresh::request rq);
    void start_follow_up(const std::string& key);

    asio::any_io_executor ex_;
    refresh::service& svc_;
    std::function<refresh::settings()> settings_;
    std::map<std::string, slot> slots_;
    std::function<void(const config::runtime&, const refresh::outcome&)> on_outcome_;
};

}  // namespace imagewatch::watch
