#include "daemon/readiness.hpp"

#include "core/log.hpp"
#include "core/repeat_filter.hpp"

#include <algorithm>

namespace imagewatch::daemon {

awaitable<std::optional<docker::version_info>> wait_for_docker(docker::api& docker, asio::steady_timer& timer,
                                                               readiness& r, std::string docker_host, ping_backoff b)
{
    using namespace std::chrono_literals;
    repeat_filter said(10min);
    duration delay = b.first;
    r.not_ready("docker: waiting for the first answer of the Docker daemon at " + docker_host);
    for (;;)
    {
        auto v = co_await docker.ping();
        if (v)
        {
            log::info("docker reachable", {{"engine", v->engine_version}, {"api", v->api_version}});
            co_return std::move(*v);
        }
        r.not_ready("docker: " + v.error().message);
        if (said.should_log(v.error().message, std::chrono::steady_clock::now()))
            log::warn("docker not reachable; retrying (this line repeats when the error changes, or every 10m)",
                      {{"error", v.error().message}});
        timer.expires_after(delay);
        delay = std::min(delay * 2, b.max);
        if (auto [ec] = co_await timer.async_wait(nothrow_awaitable); ec)
            co_return std::nullopt;
    }
}

}  // namespace imagewatch::daemon
