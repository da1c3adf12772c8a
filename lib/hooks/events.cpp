#include "hooks/events.hpp"

#include "core/json_fields.hpp"
#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>

#include <algorithm>
#include <functional>
#include <numeric>
#include <tuple>

namespace imagewatch::hooks {
namespace {

namespace json = boost::json;

// json_fields over an object that may be null: senders omit and null fields freely.
std::string_view str(const json::object* o, std::string_view key) { return o ? string_view_field(*o, key) : ""; }
const json::object* obj(const json::object* o, std::string_view key) { return o ? object_field(*o, key) : nullptr; }
const json::array* arr(const json::object* o, std::string_view key)
{
    const auto* v = o ? o->if_contains(key) : nullptr;
    return v ? v->if_array() : nullptr;
}

// Equal tags (an envelope may repeat an event) collapse into the first, in O(n log n): one
// notification may carry hundreds of events.
void drop_repeats(std::vector<pushed_tag>& tags)
{
    std::vector<std::size_t> order(tags.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto fields = [&](std::size_t i) {
        const auto& t = tags[i];
        return std::tie(t.host, t.repository, t.tag, t.digest);
    };
    std::ranges::stable_sort(order, std::less<>{}, fields);  // equal tags keep their envelope order
    std::vector<bool> repeat(tags.size());
    for (std::size_t k = 1; k < order.size(); ++k)
        repeat[order[k]] = fields(order[k]) == fields(order[k - 1]);
    std::vector<pushed_tag> kept;
    kept.reserve(tags.size());
    for (std::size_t i = 0; i < tags.size(); ++i)
        if (!repeat[i])
            kept.push_back(std::move(tags[i]));
    tags = std::move(kept);
}

result<json::value> parse_json(std::string_view body)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        return make_error(errc::invalid_argument, "invalid JSON payload: " + ec.message());
    if (!v.is_object())
        return make_error(errc::invalid_argument, "invalid payload: expected a JSON object");
    return v;
}

// GitHub's form encoding: payload=<url-encoded JSON>.
result<std::string> form_payload(std::string_view body)
{
    auto params = boost::urls::parse_query(body);
    if (!params)
        return make_error(errc::invalid_argument, "invalid form body");
    for (auto p : *params)
        if (p.key == "payload" && p.has_value)
            return p.value.decode(boost::urls::encoding_opts(true));  // '+' is a space in forms
    return make_error(errc::invalid_argument, "form body without a payload field");
}

// Tags of one GitHub package version: container_metadata.tag.name (webhooks), metadata.container.tags
// (the REST shape, sometimes mirrored), docker_metadata[].tags (older deliveries).
std::vector<std::string> version_tags(const json::object* version)
{
    std::vector<std::string> tags;
    auto add = [&](std::string_view t) {
        if (!t.empty() && std::find(tags.begin(), tags.end(), t) == tags.end())
            tags.emplace_back(t);
    };
    const auto add_all = [&](const json::array* list) {
        if (list)
            for (const auto& t : *list)
                if (t.is_string())
                    add(t.get_string());
    };
    add(str(obj(obj(version, "container_metadata"), "tag"), "name"));
    add_all(arr(obj(obj(version, "metadata"), "container"), "tags"));
    if (const auto* dm = arr(version, "docker_metadata"))
        for (const auto& d : *dm)
            add_all(arr(d.if_object(), "tags"));
    return tags;
}

}  // namespace

result<std::vector<pushed_tag>> parse_github_event(std::string_view event, std::string_view content_type,
                                                   std::string_view body)
{
    std::string form_json;
    if (ascii_lower(content_type).starts_with("application/x-www-form-urlencoded"))
    {
        auto p = form_payload(body);
        if (!p)
            return p.error();
        form_json = std::move(*p);
        body = form_json;
    }
    auto v = parse_json(body);
    if (!v)
        return v.error();
    std::vector<pushed_tag> out;
    if (event != "package" && event != "registry_package")
        return out;  // ping and everything else: nothing to check
    const auto& root = v->get_object();
    const auto action = str(&root, "action");
    if (action != "published" && action != "updated")
        return out;
    // The object is named after the event; accept either name so a relabelled delivery still works.
    const auto* pkg = obj(&root, event);
    if (!pkg)
        pkg = obj(&root, event == "package" ? "registry_package" : "package");
    if (!pkg)
        return out;
    auto type = ascii_lower(str(pkg, "package_type"));
    if (type.empty())
        type = ascii_lower(str(pkg, "ecosystem"));
    if (!type.empty() && type != "container" && type != "docker")
        return out;
    std::string owner(str(pkg, "namespace"));
    if (owner.empty())
        owner = str(obj(pkg, "owner"), "login");
    const std::string name(str(pkg, "name"));
    if (owner.empty() || name.empty())
        return out;
    const std::string repository = ascii_lower(owner + "/" + name);
    const auto* version = obj(pkg, "package_version");
    // The tag's digest, else the version's own name, which for containers is its manifest digest.
    std::string digest(str(obj(obj(version, "container_metadata"), "tag"), "digest"));
    if (digest.empty() && str(version, "name").starts_with("sha256:"))
        digest = str(version, "name");
    for (auto& t : version_tags(version))  // distinct and not empty
        out.push_back(pushed_tag{"ghcr.io", repository, std::move(t), digest});
    return out;
}

result<std::vector<pushed_tag>> parse_registry_events(std::string_view body)
{
    auto v = parse_json(body);
    if (!v)
        return v.error();
    const auto* events = arr(&v->get_object(), "events");
    if (!events)
        return make_error(errc::invalid_argument, "invalid notification: no \"events\" array");
    std::vector<pushed_tag> out;
    for (const auto& e : *events)
    {
        const auto* ev = e.if_object();
        if (str(ev, "action") != "push")
            continue;  // pulls, deletes, mounts
        const auto* target = obj(ev, "target");
        const auto tag = str(target, "tag");
        if (tag.empty())
            continue;  // blob pushes and pushes by digest: no tag moved
        const auto repository = str(target, "repository");
        if (repository.empty())
            continue;
        std::string host = ascii_lower(str(obj(ev, "request"), "host"));
        if (host.empty())
            if (auto u = boost::urls::parse_uri(str(target, "url")))
                host = ascii_lower(u->encoded_host_and_port());
        out.push_back(
            pushed_tag{std::move(host), ascii_lower(repository), std::string(tag), std::string(str(target, "digest"))});
    }
    drop_repeats(out);
    return out;
}

}  // namespace imagewatch::hooks
