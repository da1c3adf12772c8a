#pragma once
// An admin backend that records what the routes ask of it, for the route tests and the
// admin_request fuzzer. Every answer is a field the caller sets before the request.
#include "admin/routes.hpp"
#include "config/config.hpp"
#include "hooks/match.hpp"
#include "refresh/result.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace imagewatch::test {

struct fake_admin_backend : admin::backend
{
    std::optional<std::string> token = "s3cret";
    bool public_metrics = true;
    bool is_ready = false;
    std::vector<std::string> names{"claude-code", "hermes"};
    std::vector<refresh::failure> errors;  // what every refresh reports besides pulling its runtime
    std::optional<std::string> fatal;      // every refresh fails as a whole with this message
    std::map<admin::hook_kind, std::optional<std::string>> secrets;
    std::vector<config::runtime> rts;
    std::vector<std::string> not_running;  // names schedule_checks leaves out

    // What was asked, in call order.
    std::vector<std::pair<std::optional<std::string>, bool>> calls;  // refresh(runtime, recreate)
    std::vector<std::vector<std::string>> scheduled;                 // runtimes per schedule_checks call
    std::vector<std::string> digests;                                // announced digests

    std::optional<std::string> admin_token() override { return token; }
    bool metrics_public() override { return public_metrics; }
    std::vector<std::string> runtime_names() override { return names; }
    awaitable<refresh::outcome> refresh(std::optional<std::string> runtime, bool recreate) override
    {
        calls.emplace_back(runtime, recreate);
        refresh::outcome o;
        o.result.pulled = {runtime.value_or("claude-code")};
        o.result.errors = errors;
        o.fatal = fatal;
        co_return o;
    }
    awaitable<std::string> status_json() override { co_return "{}"; }
    bool ready() override { return is_ready; }
    std::string not_ready_reason() override { return "docker: cannot reach the Docker daemon at unix:///x.sock"; }
    std::string metrics_text() override { return "m 1\n"; }

    std::optional<std::string> hook_secret(admin::hook_kind k) override { return secrets[k]; }
    std::vector<config::runtime> runtimes() override { return rts; }
    std::vector<std::string> schedule_checks(std::vector<hooks::check_request> checks) override
    {
        std::vector<std::string> n;
        for (const auto& c : checks)
        {
            n.push_back(c.runtime);
            digests.push_back(c.digest);
        }
        scheduled.push_back(n);
        std::erase_if(n, [&](const std::string& x) {
            return std::find(not_running.begin(), not_running.end(), x) != not_running.end();
        });
        return n;
    }
};

}  // namespace imagewatch::test
