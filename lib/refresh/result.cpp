#include "refresh/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace imagewatch::refresh {
namespace {

boost::json::array strings(const std::vector<std::string>& v) { return boost::json::array(v.begin(), v.end()); }

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
    for (auto [key, v] :
         {std::pair{"halted", &r.halted}, std::pair{"deferred", &r.deferred}, std::pair{"notified", &r.notified}})
        if (!v->empty())
            o[key] = strings(*v);
    if (!r.services.empty())
    {
        boost::json::array services;
        for (const auto& sr : r.services)
            services.emplace_back(boost::json::object{{"runtime", sr.runtime},
                                                      {"service", sr.service},
                                                      {"result", sr.result},
                                                      {"image", sr.image},
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

void merge(outcome& into, const outcome& part)
{
    auto append = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
    append(into.result.pulled, part.result.pulled);
    append(into.result.failed, part.result.failed);
    append(into.result.recreated, part.result.recreated);
    append(into.result.skipped, part.result.skipped);
    append(into.result.errors, part.result.errors);
    append(into.result.halted, part.result.halted);
    append(into.result.deferred, part.result.deferred);
    append(into.result.notified, part.result.notified);
    append(into.result.services, part.result.services);
    if (part.fatal && !into.fatal)
        into.fatal = part.fatal;
}

}  // namespace imagewatch::refresh
