#include "daemon/admin_backend.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace imagewatch::daemon {

std::optional<std::string> admin_backend::admin_token()
{
    if (cfg_.admin.token_file.empty())
        return env_value(cfg_.admin.token_env);
    // A stat per request; the file is read only when it changed (rotation needs no reload).
    auto t = token_file_.token(cfg_.admin.token_file);
    if (!t)
    {
        if (t.error().message != token_file_problem_)  // once per problem, not per request
            log::error("admin.token_file unusable: /admin/* answers 503 until it is fixed",
                       {{"error", t.error().message}});
        token_file_problem_ = t.error().message;
        return std::nullopt;
    }
    token_file_problem_.clear();
    return *t;
}

std::vector<std::string> admin_backend::runtime_names()
{
    std::vector<std::string> n;
    for (const auto& r : cfg_.runtimes)
        n.push_back(r.name);
    return n;
}

awaitable<refresh::outcome> admin_backend::refresh(std::optional<std::string> runtime, bool recreate, bool force)
{
    refresh::request rq;
    rq.recreate = recreate;
    rq.force = force;
    auto out = co_await ports_.refresh(cfg_.select_runtimes(runtime), std::move(rq));
    refresh::log_outcome(out);
    co_return out;
}

std::string admin_backend::metrics_text() { return metrics::global().render(); }

std::optional<std::string> admin_backend::env_value(const std::string& name) const
{
    auto v = name.empty() ? std::nullopt : env_(name);
    return v && !v->empty() ? v : std::nullopt;
}

}  // namespace imagewatch::daemon
