#pragma once
// fake_docker: an in-memory Docker Engine for orchestration tests. Containers and images are
// inspect-shaped JSON objects; pull moves a tag to the image registered with next_image(); any call
// can be made to fail through `fail_on` (op name + 1-based occurrence) to test rollback at every step.
#include "docker/api.hpp"
#include "image/image_ref.hpp"

#include <boost/json.hpp>

#include <functional>
#include <map>
#include <set>

namespace imagewatch::test {

namespace json = boost::json;

class fake_docker final : public docker::api
{
public:
    struct image_spec
    {
        std::vector<std::string> env;
        bool exits_at_once = false;
    };

    std::map<std::string, json::object> images;       // by ID
    std::map<std::string, std::string> tags;          // canonical ref -> image ID
    std::map<std::string, std::string> pending_tags;  // canonical ref -> image ID the next pull yields
    std::map<std::string, json::object> containers;   // by ID
    std::set<std::string> failing_pulls;              // canonical refs whose pull fails
    std::vector<docker::pull_totals> pull_reports;    // each pull reports these, then returns the last
    std::map<std::string, int> calls;                 // op -> count so far
    std::map<std::string, int> fail_on;               // op -> occurrence that fails
    std::map<std::string, int> unreachable_on;        // op -> occurrence that finds Docker gone
    bool list_fails = false;
    int ping_failures = 0;  // the first pings fail, as before dockerd is up
    int next_id = 1;
    // Awaited inside each create with its 1-based occurrence: lets a test hold one swap there.
    std::function<awaitable<void>(int)> on_create;

    std::string add_image(const std::string& ref, image_spec spec)
    {
        std::string id = "sha256:img" + std::to_string(next_id++);
        json::object cfg;
        json::array env;
        for (auto& e : spec.env)
            env.emplace_back(e);
        cfg["Env"] = env;
        cfg["Cmd"] = json::array{"/bin/app"};
        cfg["Labels"] = json::object{{"exits", spec.exits_at_once ? "yes" : "no"}};
        images[id] = json::object{{"Id", id}, {"RepoDigests", json::array{}}, {"Config", cfg}};
        if (!ref.empty())
            tags[parse_image_ref(ref).value().str()] = id;
        return id;
    }
    // After the next pull of ref, the tag points at a new image.
    std::string next_image(const std::string& ref, image_spec spec)
    {
        auto canonical = parse_image_ref(ref).value().str();
        auto id = add_image("", spec);
        pending_tags[canonical] = id;
        return id;
    }

    std::string add_container(const std::string& name, const std::string& config_image, bool running = true,
                              json::object labels = {})
    {
        auto image_id = tags.at(parse_image_ref(config_image).value().str());
        std::string id = std::string(64, 'a' + static_cast<char>(next_id % 20));
        id.replace(0, std::to_string(next_id).size(), std::to_string(next_id));
        ++next_id;
        json::object cfg = images.at(image_id).at("Config").as_object();
        cfg["Image"] = config_image;
        if (!labels.empty())
        {
            auto& l = cfg["Labels"].as_object();
            for (auto& kv : labels)
                l[kv.key()] = kv.value();
        }
        cfg["Hostname"] = id.substr(0, 12);
        containers[id] = json::object{
            {"Id", id},
            {"Name", "/" + name},
            {"Image", image_id},
            {"Config", cfg},
            {"State",
             json::object{{"Running", running}, {"Status", running ? "running" : "exited"}, {"RestartCount", 0}}},
            {"HostConfig", json::object{{"NetworkMode", "none"}, {"Binds", json::array{"/data:/data"}}}},
            {"NetworkSettings", json::object{{"Networks", json::object{{"none", json::object{}}}}}},
        };
        return id;
    }

    // Test view: name -> (id, image id, running)
    std::optional<json::object> by_name(const std::string& name) const
    {
        for (auto& [id, c] : containers)
            if (c.at("Name").as_string() == "/" + name)
                return c;
        return std::nullopt;
    }
    static bool running(const json::object& c) { return c.at("State").at("Running").as_bool(); }

    awaitable<result<docker::version_info>> ping() override
    {
        if (++calls["ping"] <= ping_failures)
            co_return make_error(errc::unreachable, "connect: connection refused");
        co_return docker::version_info{"1.41", "20.10.24", "linux", "amd64"};
    }
    awaitable<result<std::vector<docker::container_summary>>> list_containers() override
    {
        if (auto e = step("list"); e || list_fails)
            co_return make_error(errc::unreachable, "cannot reach the Docker daemon");
        std::vector<docker::container_summary> out;
        for (auto& [id, c] : containers)
        {
            docker::container_summary s;
            s.id = id;
            s.name = std::string(c.at("Name").as_string()).substr(1);
            s.image = std::string(c.at("Image").as_string());
            s.state = running(c) ? "running" : "exited";
            for (auto& kv : c.at("Config").at("Labels").as_object())
                s.labels[std::string(kv.key())] = std::string(kv.value().as_string());
            out.push_back(s);
        }
        co_return out;
    }
    awaitable<result<json::object>> inspect_container(std::string id) override
    {
        if (auto e = step("inspect_container"))
            co_return *e;
        auto it = containers.find(id);
        if (it == containers.end())
            co_return make_error(errc::not_found, "No such container: " + id);
        co_return it->second;
    }
    awaitable<result<json::object>> inspect_image(std::string name) override
    {
        if (auto e = step("inspect_image"))
            co_return *e;
        if (images.contains(name))
            co_return images[name];
        auto ref = parse_image_ref(name);
        if (ref && tags.contains(ref->str()))
            co_return images[tags[ref->str()]];
        co_return make_error(errc::not_found, "No such image: " + name);
    }
    awaitable<result<docker::pull_totals>> pull(image_ref ref, std::string, std::string, std::chrono::milliseconds,
                                                docker::pull_observer on_progress) override
    {
        if (auto e = step("pull"))
            co_return *e;
        if (failing_pulls.contains(ref.str()))
            co_return make_error("manifest unknown");
        if (auto it = pending_tags.find(ref.str()); it != pending_tags.end())
        {
            tags[ref.str()] = it->second;
            pending_tags.erase(it);
        }
        for (const auto& t : pull_reports)
            if (on_progress)
                on_progress(t);
        co_return pull_reports.empty() ? docker::pull_totals{} : pull_reports.back();
    }
    awaitable<result<std::string>> create_container(std::string name, json::object body) override
    {
        if (auto e = step("create"))
            co_return *e;
        if (on_create)
            co_await on_create(calls["create"]);
        if (by_name(name))
            co_return make_error("Conflict. The container name \"/" + name + "\" is already in use");
        std::string image_ref = std::string(body.at("Image").as_string());
        auto img = tags.find(parse_image_ref(image_ref).value().str());
        if (img == tags.end())
            co_return make_error(errc::not_found, "No such image: " + image_ref);
        std::string id = "new" + std::to_string(next_id++) + std::string(56, 'f');
        json::object cfg = body;
        cfg.erase("HostConfig");
        cfg.erase("NetworkingConfig");
        if (!cfg.contains("Labels"))
            cfg["Labels"] = json::object{};
        // Like the engine: unset fields come from the image.
        const auto& icfg = images.at(img->second).at("Config").as_object();
        if (!cfg.contains("Env"))
            cfg["Env"] = icfg.at("Env");
        for (auto& kv : icfg.at("Labels").as_object())
            if (!cfg["Labels"].as_object().contains(kv.key()))
                cfg["Labels"].as_object()[kv.key()] = kv.value();
        containers[id] = json::object{
            {"Id", id},
            {"Name", "/" + name},
            {"Image", img->second},
            {"Config", cfg},
            {"State", json::object{{"Running", false}, {"Status", "created"}, {"RestartCount", 0}}},
            {"HostConfig", body.contains("HostConfig") ? body.at("HostConfig") : json::object{}},
            {"NetworkSettings", json::object{{"Networks", created_networks(body)}}},
        };
        co_return id;
    }
    awaitable<result<void>> connect_network(std::string network, std::string id, json::object) override
    {
        if (auto e = step("connect"))
            co_return *e;
        containers.at(id)["NetworkSettings"].as_object()["Networks"].as_object()[network] = json::object{};
        co_return result<void>{};
    }
    awaitable<result<void>> start_container(std::string id) override
    {
        if (auto e = step("start"))
            co_return *e;
        auto& c = containers.at(id);
        bool exits = images.at(std::string(c.at("Image").as_string())).at("Config").at("Labels").at("exits") == "yes";
        c["State"].as_object()["Running"] = !exits;
        c["State"].as_object()["ExitCode"] = exits ? 1 : 0;
        co_return result<void>{};
    }
    awaitable<result<void>> stop_container(std::string id, std::chrono::seconds t) override
    {
        if (auto e = step("stop"))
            co_return *e;
        last_stop_timeout = t;
        containers.at(id)["State"].as_object()["Running"] = false;
        co_return result<void>{};
    }
    awaitable<result<void>> rename_container(std::string id, std::string new_name) override
    {
        if (auto e = step("rename"))
            co_return *e;
        if (by_name(new_name))
            co_return make_error("Conflict: name in use: " + new_name);
        containers.at(id)["Name"] = "/" + new_name;
        co_return result<void>{};
    }
    awaitable<result<void>> remove_container(std::string id, bool) override
    {
        if (auto e = step("remove"))
            co_return *e;
        containers.erase(id);
        co_return result<void>{};
    }

    std::chrono::seconds last_stop_timeout{0};

private:
    // Like the engine: the network of the create request, else the one NetworkMode names.
    static json::object created_networks(const json::object& body)
    {
        json::object out;
        if (auto* nc = body.if_contains("NetworkingConfig"))
            if (auto* eps = nc->as_object().if_contains("EndpointsConfig"))
                for (auto& kv : eps->as_object())
                    out[kv.key()] = json::object{};
        if (auto* hc = body.if_contains("HostConfig"); out.empty() && hc)
            if (auto* mode = hc->as_object().if_contains("NetworkMode");
                mode && mode->is_string() && !mode->get_string().starts_with("container:"))
                out[mode->get_string()] = json::object{};
        return out;
    }

    std::optional<error> step(const std::string& op)
    {
        int n = ++calls[op];
        if (auto it = fail_on.find(op); it != fail_on.end() && it->second == n)
            return make_error("injected failure: " + op);
        if (auto it = unreachable_on.find(op); it != unreachable_on.end() && it->second == n)
            return make_error(errc::unreachable, "cannot reach the Docker daemon (injected): " + op);
        return std::nullopt;
    }
};

}  // namespace imagewatch::test
