#pragma once
// The daemon's answers to the admin routes (admin::backend): which runtimes a refresh POST covers,
// the admin token (admin.token_file, else admin.token_env), the webhook secrets, the status body,
// readiness and metrics. It reads the live config and reaches the running daemon only through
// admin_ports, so it is tested without sockets or Docker. Orchestration.
#include "admin/routes.hpp"
#include "config/config.hpp"
#include "core/env.hpp"
#include "daemon/readiness.hpp"
#include "daemon/status.hpp"
#include "daemon/token_file.hpp"
#include "refresh/service.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::daemon {

// What the admin backend asks of the running daemon.
struct admin_ports
{
    // Refreshes these runtimes (config order) through the refresh queue.
    std::function<awaitable<refresh::outcome>(std::vector<config::runtime>, refresh::request)> refresh;
    // The /admin/status facts as they are now (may ask Docker, within its own deadline).
    std::function<awaitable<status_snapshot>()> status;
    // Webhook checks, scheduled at once; returns the runtimes actually scheduled.
    std::function<std::vector<std::string>(std::vector<hooks::check_request>)> schedule_checks;
};

class admin_backend final : public admin::backend
{
public:
    // cfg and ready are the daemon's live ones: a reload changes what the next request sees.
    admin_backend(const config::config& cfg, const readiness& ready, admin_ports ports, env_lookup env = process_env())
        : cfg_(cfg), readiness_(ready), ports_(std::move(ports)), env_(std::move(env))
    {}

    std::optional<std::string> admin_token() override;
    bool metrics_public() override { return cfg_.admin.metrics_public; }
    std::vector<std::string> runtime_names() override;
    // An operator's request: the rollout window and min_age do not apply.
    awaitable<refresh::outcome> refresh(std::optional<std::string> runtime, bool recreate, bool force) override;
    awaitable<std::string> status_json() override { co_return render_status(co_await ports_.status()); }
    bool ready() override { return readiness_.ready(); }
    std::string not_ready_reason() override { return readiness_.reason(); }
    std::string metrics_text() override;

    // Read from the environment at each delivery: a rotated secret needs no reload.
    std::optional<std::string> hook_secret(admin::hook_kind kind) override
    {
        return env_value(kind == admin::hook_kind::github ? cfg_.hooks.github_secret_env
                                                          : cfg_.hooks.registry_token_env);
    }
    std::vector<config::runtime> runtimes() override { return cfg_.runtimes; }
    std::vector<std::string> schedule_checks(std::vector<hooks::check_request> checks) override
    {
        return ports_.schedule_checks(std::move(checks));
    }

private:
    std::optional<std::string> env_value(const std::string& name) const;  // unnamed, unset or empty: nullopt

    const config::config& cfg_;
    const readiness& readiness_;
    admin_ports ports_;
    env_lookup env_;
    token_file token_file_;
    std::string token_file_problem_;  // the last one logged
};

}  // namespace imagewatch::daemon
