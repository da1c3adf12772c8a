#include "refresh/swarm_spec.hpp"

#include "core/json_fields.hpp"
#include "refresh/select.hpp"

#include <boost/json/value.hpp>

namespace imagewatch::refresh {
namespace {

namespace json = boost::json;

const json::object* container_spec(const json::object& spec)
{
    if (const auto* tt = object_field(spec, "TaskTemplate"))
        return object_field(*tt, "ContainerSpec");
    return nullptr;
}

// "reg/app:v1@sha256:…" -> "reg/app:v1". A '@' can only start the digest part.
std::string_view without_digest(std::string_view image) { return image.substr(0, image.find('@')); }

}  // namespace

update_status read_update_status(const json::object& svc)
{
    update_status st;
    if (const auto* us = object_field(svc, "UpdateStatus"))
    {
        st.state = string_field(*us, "State");
        st.message = string_field(*us, "Message");
        st.started_at = string_field(*us, "StartedAt");
    }
    return st;
}

result<service_view> read_service(const json::object& svc)
{
    service_view v;
    v.id = string_field(svc, "ID");
    if (v.id.empty())
        return make_error(errc::bad_response, "a service without an ID");
    const auto* version = object_field(svc, "Version");
    const auto* index = version ? version->if_contains("Index") : nullptr;
    if (!index || !(index->is_uint64() || (index->is_int64() && index->get_int64() >= 0)))
        return make_error(errc::bad_response, "service " + v.id + ": no Version.Index");
    v.version = index->is_uint64() ? index->get_uint64() : static_cast<std::uint64_t>(index->get_int64());
    const auto* spec = object_field(svc, "Spec");
    if (!spec)
        return make_error(errc::bad_response, "service " + v.id + ": no Spec");
    v.name = string_field(*spec, "Name");
    if (const auto* cs = container_spec(*spec))
        v.image = string_field(*cs, "Image");
    if (v.image.empty())
        return make_error(errc::bad_response,
                          "service " + v.id + ": no TaskTemplate.ContainerSpec.Image (not a container service)");
    if (const auto* labels = object_field(*spec, "Labels"))
        for (const auto& kv : *labels)
            if (kv.value().is_string())
                v.labels.emplace(kv.key(), kv.value().get_string());
    v.status = read_update_status(svc);
    return v;
}

bool selects_service(const config::runtime& rt, const service_view& s)
{
    if (!rt.services || !name_and_labels_match(*rt.services, s.name, s.labels))
        return false;
    auto ref = parse_image_ref(without_digest(s.image));
    return ref && ref->str() == rt.image.str();
}

std::string repo_digest(const json::object& image_inspect, const image_ref& image)
{
    const auto* list = image_inspect.if_contains("RepoDigests");
    if (!list || !list->is_array())
        return {};
    for (const auto& d : list->get_array())
    {
        if (!d.is_string())
            continue;
        auto ref = parse_image_ref(d.get_string());
        if (ref && !ref->digest.empty() && ref->name() == image.name())
            return ref->digest;
    }
    return {};
}

std::string pinned_image(std::string_view service_image, std::string_view digest)
{
    return std::string(without_digest(service_image)) + "@" + std::string(digest);
}

bool on_digest(const service_view& s, std::string_view digest)
{
    auto at = s.image.find('@');
    return at != std::string::npos && std::string_view(s.image).substr(at + 1) == digest;
}

result<json::object> updated_spec(const json::object& svc, std::string_view pinned)
{
    const auto* spec = object_field(svc, "Spec");
    if (!spec || !container_spec(*spec))
        return make_error(errc::bad_response,
                          "service " + string_field(svc, "ID") + ": no Spec.TaskTemplate.ContainerSpec");
    json::object out = *spec;
    out["TaskTemplate"].as_object()["ContainerSpec"].as_object()["Image"] = pinned;
    return out;
}

update_end classify(const update_status& now, std::string_view started_before)
{
    if (now.state.empty() || now.started_at == started_before)
        return update_end::in_progress;
    if (now.state == "completed")
        return update_end::updated;
    if (now.state == "rollback_completed")
        return update_end::rolled_back;
    if (now.state == "paused" || now.state == "rollback_paused")
        return update_end::paused;
    return update_end::in_progress;  // updating, rollback_started, or a state newer than this code
}

std::string_view to_string(update_end e)
{
    switch (e)
    {
    case update_end::updated: return "updated";
    case update_end::rolled_back: return "rolled_back";
    case update_end::paused: return "paused";
    case update_end::in_progress: break;
    }
    return "in_progress";
}

bool is_out_of_sequence(const error& e) { return e.message.find("update out of sequence") != std::string::npos; }

}  // namespace imagewatch::refresh
