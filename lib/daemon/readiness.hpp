#pragma once
// Readiness: false until the Docker Engine first answered and the swaps an earlier run left were
// resolved; meanwhile a reason an operator can act on (the /readyz 503 body).
#include "core/awaitable.hpp"
#include "core/duration.hpp"
#include "docker/api.hpp"

#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <string>

namespace imagewatch::daemon {

class readiness
{
public:
    bool ready() const { return ready_; }
    const std::string& reason() const { return reason_; }
    void not_ready(std::string reason) { reason_ = std::move(reason); }
    void mark_ready()
    {
        ready_ = true;
        reason_.clear();
    }

private:
    bool ready_ = false;
    std::string reason_ = "starting";
};

struct ping_backoff
{
    duration first = std::chrono::seconds(1);  // a dockerd that starts a little later is seen soon
    duration max = std::chrono::seconds(10);
};

// Pings until the Engine answers, backing off between tries (first, doubling up to max), logging
// the error once and again when it changes or every 10 minutes, and keeping r's reason current.
// nullopt when `timer` was cancelled (shutdown).
awaitable<std::optional<docker::version_info>> wait_for_docker(docker::api& docker, asio::steady_timer& timer,
                                                               readiness& r, std::string docker_host,
                                                               ping_backoff b = {});

}  // namespace imagewatch::daemon
