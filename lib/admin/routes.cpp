#include "admin/routes.hpp"

#include "admin/auth.hpp"
#include "admin/refresh_command.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"
#include "hooks/events.hpp"
#include "hooks/match.hpp"
#include "hooks/signature.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace imagewatch::admin {
namespace {

response method_not_allowed(std::string_view allowed)
{
    return json_error(405, "method not allowed; use " + std::string(allowed));
}

response text(int status, std::string body, std::string type = "text/plain; charset=utf-8")
{
    return response{status, std::move(type), std::move(body)};
}

// Echoes client input safely: JSON replies must stay valid UTF-8 whatever bytes the query held
// (found by the admin_request fuzzer). Runtime names are ASCII, so nothing real is lost.
std::string printable(std::string_view in)
{
    std::string out;
    for (char ch : in)
    {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f)
            out += ch;
        else
            out += "\\x" + hex_lower(&c, 1);
    }
    return out;
}

// A flag in the query (recreate=true|false|1|0), `absent` when it is not given; anything else is
// nullopt, a 400: a typo must not silently mean pull-only.
std::optional<bool> query_flag(const boost::urls::params_view& params, std::string_view name, bool absent)
{
    auto it = params.find(name);
    if (it == params.end())
        return absent;
    const auto param = *it;  // decoded into strings of its own: keep it while v is used
    const auto v = param.has_value ? std::string_view(param.value) : std::string_view();
    if (v == "true" || v == "1")
        return true;
    if (v == "false" || v == "0")
        return false;
    return std::nullopt;
}

// POST /hooks/github and /hooks/registry: authenticate first, then parse, match and
// schedule. Scheduling only wakes watch tasks, so the sender gets its answer at once.
response handle_hook(const request& req, hook_kind kind, backend& b)
{
    const std::string_view hook = kind == hook_kind::github ? "github" : "registry";
    const auto secret = b.hook_secret(kind);
    if (!secret || secret->empty())
        return json_error(404, "not found");  // off unless configured: indistinguishable from no route
    if (req.method != "POST")
        return method_not_allowed("POST");
    auto& m = metrics::global();
    const auto reject = [&](int status, std::string_view why, std::string_view result) {
        m.inc("imagewatch_webhooks_total", {{"hook", hook}, {"result", result}});
        log::warn("webhook rejected", {{"hook", std::string(hook)}, {"error", std::string(why)}});
        return json_error(status, why);
    };

    result<std::vector<hooks::pushed_tag>> tags;
    if (kind == hook_kind::github)
    {
        if (req.hub_signature.empty())
            return reject(401, "missing X-Hub-Signature-256", "unauthorized");
        if (!hooks::verify_github_signature(req.hub_signature, req.body, *secret))
            return reject(401, "invalid X-Hub-Signature-256", "unauthorized");
        tags = hooks::parse_github_event(req.github_event, req.content_type, req.body);
    }
    else
    {
        switch (check_bearer(req.authorization, std::optional<std::string_view>(*secret)))
        {
        case auth_result::ok: break;
        case auth_result::not_configured:  // excluded above; kept for the exhaustive switch
        case auth_result::missing: return reject(401, "hook auth required", "unauthorized");
        case auth_result::invalid: return reject(401, "invalid hook token", "unauthorized");
        }
        tags = hooks::parse_registry_events(req.body);
    }
    if (!tags)
        return reject(400, tags.error().message, "bad_request");

    auto matched = hooks::match_runtimes(b.runtimes(), *tags);
    std::vector<std::string> scheduled;
    if (!matched.empty())
        scheduled = b.schedule_checks(std::move(matched));
    m.inc("imagewatch_webhooks_total", {{"hook", hook}, {"result", scheduled.empty() ? "ignored" : "scheduled"}});
    std::string names;
    for (const auto& n : scheduled)
        names += (names.empty() ? "" : ",") + n;
    // Registries also announce pulls and blob pushes: those stay at debug level.
    log::write(tags->empty() ? log::level::debug : log::level::info, "webhook received",
               {{"hook", std::string(hook)}, {"tags", std::to_string(tags->size())}, {"scheduled", names}});
    const boost::json::object o{{"scheduled", boost::json::array(scheduled.begin(), scheduled.end())}};
    return response{202, "application/json", boost::json::serialize(o)};
}

}  // namespace

response json_error(int status, std::string_view message)
{
    return response{status, "application/json", boost::json::serialize(boost::json::object{{"error", message}})};
}

awaitable<response> handle(request req, backend& b)
{
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url)
        co_return json_error(400, "bad request target");
    const std::string path = url->path();

    // The read-only routes answer GET and HEAD.
    const bool get = req.method == "GET" || req.method == "HEAD";
    if ((path == "/healthz" || path == "/readyz") && !get)
        co_return method_not_allowed("GET");
    if (path == "/healthz")
        co_return text(200, "ok\n");
    if (path == "/readyz")
    {
        if (b.ready())
            co_return text(200, "ready\n");
        const boost::json::object o{{"ready", false}, {"reason", b.not_ready_reason()}};
        co_return response{503, "application/json", boost::json::serialize(o)};
    }

    if (path == "/hooks/github")
        co_return handle_hook(req, hook_kind::github, b);
    if (path == "/hooks/registry")
        co_return handle_hook(req, hook_kind::registry, b);

    const bool is_admin = path.starts_with("/admin/");
    const bool is_metrics = path == "/metrics";
    if (!is_admin && !is_metrics)
        co_return json_error(404, "not found");

    if (is_admin || !b.metrics_public())
    {
        const auto token = b.admin_token();
        switch (check_bearer(req.authorization, token ? std::optional<std::string_view>(*token) : std::nullopt))
        {
        case auth_result::ok: break;
        case auth_result::not_configured: co_return json_error(503, "admin token not configured");
        case auth_result::missing: co_return json_error(401, "admin auth required");
        case auth_result::invalid: co_return json_error(401, "invalid admin auth token");
        }
    }

    if ((is_metrics || path == "/admin/status") && !get)
        co_return method_not_allowed("GET");
    if (is_metrics)
        co_return text(200, b.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    if (path == "/admin/status")
    {
        // Awaited on its own line: GCC 12 destroys temporaries wrongly around a co_await inside a
        // braced initializer.
        std::string body = co_await b.status_json();
        co_return response{200, "application/json", std::move(body)};
    }
    if (path == refresh_path)
    {
        if (req.method != "POST")
            co_return method_not_allowed("POST");
        std::optional<std::string> runtime;
        auto params = url->params();
        if (auto it = params.find("runtime"); it != params.end() && (*it).has_value && !(*it).value.empty())
            runtime = std::string((*it).value);
        const auto recreate = query_flag(params, "recreate", true);
        if (!recreate)
            co_return json_error(400, "invalid recreate value: use true, false, 1 or 0");
        const auto force = query_flag(params, "force", false);
        if (!force)
            co_return json_error(400, "invalid force value: use true, false, 1 or 0");
        if (runtime)
        {
            auto names = b.runtime_names();
            if (std::find(names.begin(), names.end(), *runtime) == names.end())
            {
                const boost::json::object o{{"error", "unknown runtime: " + printable(*runtime)},
                                            {"known_runtimes", boost::json::array(names.begin(), names.end())}};
                co_return response{400, "application/json", boost::json::serialize(o)};
            }
        }
        auto out = co_await b.refresh(runtime, *recreate, *force);
        co_return response{out.fatal ? 500 : 200, "application/json", refresh::to_json(out)};
    }
    co_return json_error(404, "not found");
}

}  // namespace imagewatch::admin
