#include "daemon/status.hpp"

#include "core/json_fields.hpp"
#include "core/rfc3339.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::daemon {

namespace json = boost::json;

std::vector<watch::runtime_status> status_rows(std::vector<watch::runtime_status> watched,
                                               const std::vector<config::runtime>& configured,
                                               const std::map<std::string, int>& counted)
{
    if (watched.empty())
        for (const auto& r : configured)
        {
            watch::runtime_status st;
            st.name = r.name;
            st.image = r.image.str();
            watched.push_back(std::move(st));
        }
    for (auto& st : watched)
        if (auto it = counted.find(st.name); it != counted.end())
            st.containers = it->second;
    return watched;
}

namespace {

json::value or_null(const std::optional<std::chrono::system_clock::time_point>& v)
{
    return v ? json::value(format_rfc3339(*v)) : json::value(nullptr);
}

}  // namespace

std::string render_status(const status_snapshot& s)
{
    json::object o;
    o["version"] = s.version;
    o["config"] = json::object{{"path", s.config_path},
                               {"loaded_at", format_rfc3339(s.loaded_at)},
                               {"hash", s.config_hash},
                               {"last_error", string_or_null(s.last_reload_error)}};
    o["watch_enabled"] = s.watch_enabled;
    json::array rts;
    for (const auto& st : s.runtimes)
    {
        json::object ro{{"name", st.name},
                        {"image", st.image},
                        {"digest", string_or_null(st.digest)},
                        {"last_check", or_null(st.last_check)},
                        {"last_result", st.last_result},
                        {"last_error", string_or_null(st.last_error)},
                        {"next_check", or_null(st.next_check)},
                        {"containers", st.containers}};
        if (const auto& r = st.rollout)
            ro["rollout"] = json::object{{"digest", r->digest},       {"state", refresh::to_string(r->state)},
                                         {"replaced", r->replaced},   {"failed", r->failed},
                                         {"remaining", r->remaining}, {"until", or_null(r->until)}};
        else
            ro["rollout"] = nullptr;
        if (auto sv = s.services.find(st.name); sv != s.services.end())
        {
            json::array services;
            for (const auto& r : sv->second)
                services.emplace_back(json::object{
                    {"service", r.service}, {"result", r.result}, {"image", r.image}, {"message", r.message}});
            ro["services"] = std::move(services);
        }
        rts.emplace_back(std::move(ro));
    }
    o["runtimes"] = std::move(rts);
    o["watch_tasks"] = s.watch_tasks;
    return json::serialize(o);
}

}  // namespace imagewatch::daemon
