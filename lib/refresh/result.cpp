#include "refresh/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::refresh {
namespace {

boost::json::array strings(const std::vector<std::string>& v)
{
    boost::json::array a;
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}

boost::json::object to_object(const refresh_result& r)
{
    boost::json::object o;
    o["pulled"] = strings(r.pulled);
    o["failed"] = strings(r.failed);
    o["recreated"] = strings(r.recreated);
    o["skipped"] = strings(r.skipped);
    boost::json::array errors;
    for (const auto& f : r.errors)
    {
        boost::json::object e;
        e["runtime"] = f.runtime;
        if (!f.container.empty())
            e["container"] = f.container;
        e["error"] = f.error;
        errors.emplace_back(std::move(e));
    }
    o["errors"] = std::move(errors);
    if (!r.services.empty())
    {
        boost::json::array services;
        for (const auto& sr : r.services)
            services.emplace_back(boost::json::object{
                {"runtime", sr.runtime}, {"service", sr.service}, {"result", sr.result}, {"image", sr.image},
                {"message", sr.message}});
        o["services"] = std::move(services);
    }
    return o;
}

}  // namespace

std::string to_json(const refresh_result& r) { return boost::json::serialize(to_object(r)); }

std::string to_json(const outcome& o)
{
    if (!o.fatal)
        return to_json(o.result);
    boost::json::object top;
    top["error"] = *o.fatal;
    top["partial_result"] = to_object(o.result);
    return boost::json::serialize(top);
}

}  // namespace imagewatch::refresh
