#include "docker/recreate_spec.hpp"

#include "core/json_fields.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <set>

namespace imagewatch::docker {

namespace json = boost::json;

namespace {

const json::value null_value;

// The field's value, or null when absent (Docker omits or nulls unset fields interchangeably).
const json::value& field(const json::object& o, std::string_view key)
{
    auto it = o.find(key);
    return it == o.end() ? null_value : it->value();
}

bool is_empty(const json::value& v)
{
    if (v.is_null())
        return true;
    if (const auto* s = v.if_string())
        return s->empty();
    if (const auto* a = v.if_array())
        return a->empty();
    if (const auto* o = v.if_object())
        return o->empty();
    return false;
}

// Drops `key` from body when it equals the image's value (or is empty either way): the new image's
// default then applies.
void drop_if_inherited(json::object& body, const json::object& image_config, std::string_view key)
{
    auto it = body.find(key);
    if (it == body.end())
        return;
    const json::value& mine = it->value();
    const json::value& theirs = field(image_config, key);
    if (mine == theirs || (is_empty(mine) && is_empty(theirs)))
        body.erase(it);
}

// Env: an entry equal (NAME=VALUE) to one of the old image's was inherited; changed or new ones are the user's.
void filter_env(json::object& body, const json::object& image_config)
{
    auto it = body.find("Env");
    if (it == body.end() || !it->value().is_array())
        return;
    std::set<std::string_view> inherited;
    if (const auto* img = field(image_config, "Env").if_array())
        for (const auto& e : *img)
            if (e.is_string())
                inherited.insert(e.get_string());
    json::array kept;
    for (const auto& e : it->value().get_array())
        if (!e.is_string() || !inherited.contains(e.get_string()))
            kept.push_back(e);
    if (kept.empty())
        body.erase(it);
    else
        it->value() = std::move(kept);
}

// Object-valued maps (Labels, ExposedPorts, Volumes): drop the keys the old image has with the same value.
// `keep` names keys that must stay even when inherited.
void filter_map(json::object& body, const json::object& image_config, std::string_view key,
                const std::set<std::string>& keep = {})
{
    auto it = body.find(key);
    if (it == body.end())
        return;
    if (!it->value().is_object())
    {
        if (is_empty(it->value()))
            body.erase(it);
        return;
    }
    const json::object* img = object_field(image_config, key);
    json::object kept;
    for (const auto& kv : it->value().get_object())
    {
        const json::value* theirs = img ? img->if_contains(kv.key()) : nullptr;
        if (!theirs || *theirs != kv.value() || keep.contains(std::string(kv.key())))
            kept.insert(kv);
    }
    if (kept.empty())
        body.erase(it);
    else
        it->value() = std::move(kept);
}

// Inspect shows legacy links as "/db:/web/db"; create wants "db:db" (name:alias), otherwise the alias
// is joined onto the container name a second time.
json::array rewrite_links(const json::array& links)
{
    json::array out;
    for (const auto& l : links)
    {
        if (!l.is_string())
            continue;
        std::string_view s = l.get_string();
        auto colon = s.find(':');
        std::string_view name = s.substr(0, colon);
        std::string_view alias = colon == std::string_view::npos ? name : s.substr(colon + 1);
        if (name.starts_with('/'))
            name.remove_prefix(1);
        if (auto slash = alias.rfind('/'); slash != std::string_view::npos)
            alias.remove_prefix(slash + 1);
        out.emplace_back(std::string(name) + ":" + std::string(alias));
    }
    return out;
}

std::string bind_destination(std::string_view bind)
{
    auto first = bind.find(':');
    if (first == std::string_view::npos)
        return std::string(bind);
    std::string_view rest = bind.substr(first + 1);
    return std::string(rest.substr(0, rest.find(':')));
}

// Anonymous volumes (from the image's VOLUME or `-v /path`) would be replaced by fresh empty ones on
// create. Mount each one by name at the same place instead, so the data carries over (the old
// container is removed without its volumes).
void carry_anonymous_volumes(json::object& host_config, const json::object& container)
{
    const json::array* mounts = field(container, "Mounts").if_array();
    if (!mounts)
        return;
    std::set<std::string> covered;
    if (const auto* binds = field(host_config, "Binds").if_array())
        for (const auto& b : *binds)
            if (b.is_string())
                covered.insert(bind_destination(b.get_string()));
    if (const auto* hm = field(host_config, "Mounts").if_array())
        for (const auto& m : *hm)
            if (const auto* mo = m.if_object())
                covered.insert(std::string(string_view_field(*mo, "Target")));
    if (const auto* tmpfs = object_field(host_config, "Tmpfs"))
        for (const auto& kv : *tmpfs)
            covered.insert(std::string(kv.key()));

    json::array added;
    for (const auto& m : *mounts)
    {
        const json::object* mo = m.if_object();
        if (!mo || string_view_field(*mo, "Type") != "volume")
            continue;
        std::string_view name = string_view_field(*mo, "Name");
        std::string dest(string_view_field(*mo, "Destination"));
        if (name.empty() || dest.empty() || covered.contains(dest))
            continue;
        const json::value& rw = field(*mo, "RW");
        added.emplace_back(json::object{
            {"Type", "volume"}, {"Source", name}, {"Target", dest}, {"ReadOnly", rw.is_bool() && !rw.get_bool()}});
        covered.insert(dest);
    }
    if (added.empty())
        return;
    json::value& target = host_config["Mounts"];
    if (!target.is_array())
        target = json::array();
    for (auto& a : added)
        target.get_array().push_back(std::move(a));
}

// What a create request may carry for one network: aliases (minus the engine's short-ID alias),
// static IPs from IPAMConfig (never the assigned IPAddress), links and driver options. MacAddress
// and the IDs are engine-assigned and stay behind.
json::object endpoint_config(std::string_view network, const json::object& settings, std::string_view short_id)
{
    json::object ep;
    if (const auto* ipam = object_field(settings, "IPAMConfig"))
    {
        json::object kept;
        for (const auto& kv : *ipam)
            if (!is_empty(kv.value()))
                kept.insert(kv);
        if (!kept.empty())
            ep["IPAMConfig"] = std::move(kept);
    }
    if (const auto* links = field(settings, "Links").if_array(); links && !links->empty())
        ep["Links"] = *links;
    // The default bridge takes no aliases (Docker 25+ rejects them; older engines only report the short ID).
    if (const auto* aliases = field(settings, "Aliases").if_array(); aliases && network != "bridge")
    {
        json::array kept;
        for (const auto& a : *aliases)
            if (a.is_string() && a.get_string() != short_id)
                kept.push_back(a);
        if (!kept.empty())
            ep["Aliases"] = std::move(kept);
    }
    if (const auto* opts = object_field(settings, "DriverOpts"); opts && !opts->empty())
        ep["DriverOpts"] = *opts;
    return ep;
}

error refuse(std::string_view name, std::string reason)
{
    return make_error(errc::not_reproducible,
                      "container " + std::string(name) + " cannot be recreated faithfully: " + reason);
}

}  // namespace

result<create_spec> build_recreate_spec(const json::object& container_inspect, const json::object& old_image_inspect,
                                        const json::object& new_image_inspect, std::string_view new_image_ref,
                                        std::string_view old_container_id)
{
    std::string_view name = string_view_field(container_inspect, "Name");
    if (name.starts_with('/'))
        name.remove_prefix(1);
    if (name.empty())
        name = old_container_id;

    const json::object* config = object_field(container_inspect, "Config");
    const json::object* host_config = object_field(container_inspect, "HostConfig");
    if (!config || !host_config)
        return make_error(errc::bad_response,
                          "container " + std::string(name) + ": inspect has no Config or HostConfig");
    if (!object_field(new_image_inspect, "Config") && !new_image_inspect.contains("Id"))
        return make_error(errc::bad_response, "image " + std::string(new_image_ref) + ": inspect has no Id or Config");
    static const json::object no_config;
    const json::object* old_image_config = object_field(old_image_inspect, "Config");
    const json::object& img = old_image_config ? *old_image_config : no_config;

    // Refusals: states a swap would not reproduce, or would fight with another owner.
    if (bool_field(host_config, "AutoRemove"))
        return refuse(name, "it was started with --rm (HostConfig.AutoRemove), so stopping it would delete it "
                            "and leave nothing to roll back to; recreate it without --rm");
    if (const auto* labels = object_field(*config, "Labels"); labels && labels->contains("com.docker.swarm.task.id"))
        return refuse(name, "it is a task of a swarm service; update the service instead");
    const json::object* state = object_field(container_inspect, "State");
    if (state && (bool_field(state, "Dead") || string_view_field(*state, "Status") == "dead" ||
                  string_view_field(*state, "Status") == "removing"))
        return refuse(name, "it is dead or being removed");

    std::string container_id(string_view_field(container_inspect, "Id"));
    if (container_id.empty())
        container_id = old_container_id;
    std::string short_id = container_id.substr(0, 12);

    std::string network_mode(string_view_field(*host_config, "NetworkMode"));
    bool mode_host = network_mode == "host";
    bool mode_none = network_mode == "none";
    bool mode_container = network_mode.starts_with("container:");

    create_spec spec;
    json::object& body = spec.body;
    body = *config;
    body["Image"] = new_image_ref;

    filter_env(body, img);

    // Cmd and Entrypoint go as a pair: with an overridden Entrypoint Docker ignores the image's Cmd, so the
    // container's Cmd (even null) is exactly what the user asked for.
    if (field(body, "Entrypoint") == field(img, "Entrypoint"))
    {
        body.erase("Entrypoint");
        drop_if_inherited(body, img, "Cmd");
    }
    for (std::string_view key : {"WorkingDir", "User", "Healthcheck", "StopSignal", "Shell", "OnBuild"})
        drop_if_inherited(body, img, key);

    std::set<std::string> bound_ports;
    if (const auto* pb = object_field(*host_config, "PortBindings"))
        for (const auto& kv : *pb)
            bound_ports.insert(std::string(kv.key()));
    filter_map(body, img, "ExposedPorts", bound_ports);
    filter_map(body, img, "Volumes");
    filter_map(body, img, "Labels");
    {
        json::value& labels = body["Labels"];
        if (!labels.is_object())
            labels = json::object();
        labels.get_object()[replaced_from_label] = old_container_id;
    }

    // Engine-filled identity: the short ID as hostname, the host's name under host networking, the
    // other container's under container:<id>; Docker rejects a hostname with container: mode.
    if (string_view_field(body, "Hostname") == short_id || mode_host || mode_container)
        body.erase("Hostname");
    if (string_view_field(body, "Domainname").empty() || mode_container)
        body.erase("Domainname");
    if (string_view_field(body, "MacAddress").empty() || mode_host || mode_none || mode_container)
        body.erase("MacAddress");

    json::object hc = *host_config;
    if (const auto* links = field(hc, "Links").if_array(); links && !links->empty())
        hc["Links"] = rewrite_links(*links);
    carry_anonymous_volumes(hc, container_inspect);
    body["HostConfig"] = std::move(hc);

    // Networks: the one named by NetworkMode goes into the create request, the rest are connected after.
    if (!mode_host && !mode_none && !mode_container)
    {
        const json::object* settings = object_field(container_inspect, "NetworkSettings");
        const json::object* networks = settings ? object_field(*settings, "Networks") : nullptr;
        if (networks && !networks->empty())
        {
            std::string primary = network_mode == "default" || network_mode.empty() ? "bridge" : network_mode;
            if (!networks->contains(primary))
            {
                // NetworkMode may name the network by ID; else fall back to the first one listed.
                std::string by_id;
                for (const auto& kv : *networks)
                    if (const auto* n = kv.value().if_object();
                        n && !network_mode.empty() && string_view_field(*n, "NetworkID").starts_with(network_mode))
                        by_id = kv.key();
                primary = by_id.empty() ? std::string(networks->begin()->key()) : by_id;
            }
            for (const auto& kv : *networks)
            {
                const json::object* n = kv.value().if_object();
                json::object ep = n ? endpoint_config(kv.key(), *n, short_id) : json::object();
                if (kv.key() == primary)
                    body["NetworkingConfig"] =
                        json::object{{"EndpointsConfig", json::object{{kv.key(), std::move(ep)}}}};
                else
                    spec.extra_networks.emplace_back(std::string(kv.key()), std::move(ep));
            }
        }
    }

    spec.start = bool_field(state, "Running") || bool_field(state, "Paused") || bool_field(state, "Restarting");
    return spec;
}

}  // namespace imagewatch::docker
