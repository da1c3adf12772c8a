#include "admin/routes.hpp"

#include "admin/auth.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace imagewatch::admin {
namespace {

response method_not_allowed(std::string_view allowed)
{
    auto r = json_error(405, "method not allowed; use " + std::string(allowed));
    return r;
}

response text(int status, std::string body, std::string type = "text/plain; charset=utf-8")
{
    return response{status, std::move(type), std::move(body)};
}

// recreate=true|false|1|0 (SPEC §5.1); anything else is a 400, unlike the seed's silent pull-only.
std::optional<bool> parse_bool(std::string_view v)
{
    if (v == "true" || v == "1")
        return true;
    if (v == "false" || v == "0")
        return false;
    return std::nullopt;
}

}  // namespace

response json_error(int status, std::string_view message)
{
    boost::json::object o;
    o["error"] = message;
    return response{status, "application/json", boost::json::serialize(o)};
}

awaitable<response> handle(request req, backend& b)
{
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url)
        co_return json_error(400, "bad request target");
    const std::string path = url->path();

    if (path == "/healthz")
    {
        if (req.method != "GET" && req.method != "HEAD")
            co_return method_not_allowed("GET");
        co_return text(200, "ok\n");
    }
    if (path == "/readyz")
    {
        if (req.method != "GET" && req.method != "HEAD")
            co_return method_not_allowed("GET");
        co_return b.ready() ? text(200, "ready\n") : text(503, "not ready\n");
    }

    const bool is_admin = path.starts_with("/admin/");
    const bool is_metrics = path == "/metrics";
    if (!is_admin && !is_metrics)
        co_return json_error(404, "not found");

    if (is_admin || !b.metrics_public())
    {
        auto token = b.admin_token();
        std::optional<std::string_view> tv;
        if (token)
            tv = *token;
        switch (check_bearer(req.authorization, tv))
        {
        case auth_result::ok: break;
        case auth_result::not_configured: co_return json_error(503, "admin token not configured");
        case auth_result::missing: co_return json_error(401, "admin auth required");
        case auth_result::invalid: co_return json_error(401, "invalid admin auth token");
        }
    }

    if (is_metrics)
    {
        if (req.method != "GET" && req.method != "HEAD")
            co_return method_not_allowed("GET");
        co_return text(200, b.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/admin/status")
    {
        if (req.method != "GET" && req.method != "HEAD")
            co_return method_not_allowed("GET");
        co_return response{200, "application/json", b.status_json()};
    }
    if (path == "/admin/workspace-images/refresh")
    {
        if (req.method != "POST")
            co_return method_not_allowed("POST");
        std::optional<std::string> runtime;
        bool recreate = true;
        auto params = url->params();
        if (auto it = params.find("runtime"); it != params.end() && (*it).has_value && !(*it).value.empty())
            runtime = std::string((*it).value);
        if (auto it = params.find("recreate"); it != params.end())
        {
            auto v = parse_bool((*it).has_value ? std::string_view((*it).value) : std::string_view());
            if (!v)
                co_return json_error(400, "invalid recreate value: use true, false, 1 or 0");
            recreate = *v;
        }
        if (runtime)
        {
            auto names = b.runtime_names();
            if (std::find(names.begin(), names.end(), *runtime) == names.end())
            {
                boost::json::object o;
                o["error"] = "unknown runtime: " + *runtime;
                boost::json::array known;
                for (auto& n : names)
                    known.emplace_back(n);
                o["known_runtimes"] = std::move(known);
                co_return response{400, "application/json", boost::json::serialize(o)};
            }
        }
        auto out = co_await b.refresh(runtime, recreate);
        co_return response{out.fatal ? 500 : 200, "application/json", refresh::to_json(out)};
    }
    co_return json_error(404, "not found");
}

}  // namespace imagewatch::admin
