#pragma once
// fake_swarm: an in-memory Swarm manager for the service update orchestration. Services are
// GET /services/{id}-shaped objects; an update writes the spec, bumps Version.Index and starts a
// scripted rollout whose UpdateStatus the next inspects reveal. Containers calls are not used.
#include "docker/api.hpp"

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace imagewatch::test {

namespace json = boost::json;

class fake_swarm final : public docker::api
{
public:
    struct rollout
    {
        std::string end = "completed";  // UpdateStatus.State it ends in
        std::string message = "update completed";
        int polls_before_start = 0;  // inspects that still show the previous UpdateStatus
        int polls_rolling = 1;       // inspects that show "updating" before the end
        std::string cause = {};      // when set, one inspect shows rollback_started with it before the end
    };

    docker::swarm_info info{"active", true, ""};
    std::map<std::string, json::object> services;     // by ID
    std::map<std::string, rollout> script;            // by ID; default: completes after one poll
    std::map<std::string, int> conflicts;             // by ID: updates refused as out of sequence
    std::map<std::string, std::string> repo_digests;  // image ref text -> RepoDigests entry
    std::map<std::string, int> calls;
    std::vector<std::string> update_auth;  // X-Registry-Auth of each update
    int clock = 0;

    std::string add_service(std::string id, std::string name, std::string image, json::object labels = {})
    {
        services[id] = json::object{
            {"ID", id},
            {"Version", json::object{{"Index", 10}}},
            {"Spec",
             json::object{
                 {"Name", name},
                 {"Labels", labels},
                 {"TaskTemplate",
                  json::object{{"ContainerSpec", json::object{{"Image", image}, {"Init", true}}}, {"ForceUpdate", 0}}},
                 {"Mode", json::object{{"Replicated", json::object{{"Replicas", 2}}}}},
                 {"UpdateConfig", json::object{{"Parallelism", 1}, {"FailureAction", "rollback"}}},
             }},
            {"UpdateStatus",
             json::object{{"State", "completed"}, {"StartedAt", "t0"}, {"Message", "update completed"}}},
        };
        return id;
    }
    std::string image_of(const std::string& id) const
    {
        return std::string(services.at(id).at("Spec").at("TaskTemplate").at("ContainerSpec").at("Image").as_string());
    }

    awaitable<result<docker::version_info>> ping() override
    {
        co_return docker::version_info{"1.41", "20.10.24", "linux", "amd64"};
    }
    awaitable<result<std::vector<docker::container_summary>>> list_containers() override
    {
        co_return std::vector<docker::container_summary>{};
    }
    awaitable<result<json::object>> inspect_container(std::string) override
    {
        co_return make_error(errc::not_found, "no");
    }
    awaitable<result<json::object>> inspect_image(std::string name) override
    {
        ++calls["inspect_image"];
        auto it = repo_digests.find(name);
        if (it == repo_digests.end())
            co_return json::object{{"Id", "sha256:local"}, {"RepoDigests", json::array{}}};
        co_return json::object{{"Id", "sha256:x"}, {"RepoDigests", json::array{it->second}}};
    }
    awaitable<result<docker::pull_totals>> pull(image_ref, std::string, std::string, std::chrono::milliseconds,
                                                docker::pull_observer) override
    {
        co_return docker::pull_totals{};
    }
    awaitable<result<std::string>> create_container(std::string, json::object) override
    {
        co_return make_error("unused");
    }
    awaitable<result<void>> connect_network(std::string, std::string, json::object) override
    {
        co_return make_error("unused");
    }
    awaitable<result<void>> start_container(std::string) override { co_return make_error("unused"); }
    awaitable<result<void>> stop_container(std::string, std::chrono::seconds) override
    {
        co_return make_error("unused");
    }
    awaitable<result<void>> rename_container(std::string, std::string) override { co_return make_error("unused"); }
    awaitable<result<void>> remove_container(std::string, bool) override { co_return make_error("unused"); }

    awaitable<result<docker::swarm_info>> swarm_state() override
    {
        ++calls["info"];
        co_return info;
    }
    awaitable<result<std::vector<json::object>>> list_services(std::string) override
    {
        ++calls["list_services"];
        if (!info.control_available)
            co_return make_error("list services: This node is not a swarm manager. (HTTP 503)");
        std::vector<json::object> out;
        for (auto& [id, s] : services)
            out.push_back(s);
        co_return out;
    }
    awaitable<result<json::object>> inspect_service(std::string id) override
    {
        ++calls["inspect_service"];
        auto it = services.find(id);
        if (it == services.end())
            co_return make_error(errc::not_found, "inspect service " + id + ": service " + id + " not found");
        advance(id);
        co_return it->second;
    }
    awaitable<result<void>> update_service(std::string id, std::uint64_t version, json::object spec,
                                           std::string auth) override
    {
        ++calls["update_service"];
        auto& s = services.at(id);
        auto& index = s["Version"].as_object()["Index"];
        if (conflicts[id] > 0)
        {
            // Another writer got there first: the version moves on, ours is stale.
            --conflicts[id];
            index = index.to_number<std::int64_t>() + 1;
        }
        if (static_cast<std::int64_t>(version) != index.to_number<std::int64_t>())
            co_return make_error("update service " + id +
                                 ": rpc error: code = Unknown desc = update out of sequence (HTTP 500)");
        update_auth.push_back(auth);
        s["PreviousSpec"] = s["Spec"];
        s["Spec"] = std::move(spec);
        index = index.to_number<std::int64_t>() + 1;
        rolling_[id] = script.contains(id) ? script[id] : rollout{};
        co_return result<void>{};
    }

private:
    // Each inspect after an update moves the scripted rollout one step.
    void advance(const std::string& id)
    {
        auto it = rolling_.find(id);
        if (it == rolling_.end())
            return;
        auto& r = it->second;
        auto& s = services.at(id);
        if (r.polls_before_start > 0)
        {
            --r.polls_before_start;
            return;
        }
        if (r.polls_rolling > 0)
        {
            if (s["UpdateStatus"].as_object()["State"] != "updating")
                s["UpdateStatus"] = json::object{{"State", "updating"},
                                                 {"StartedAt", "t" + std::to_string(++clock)},
                                                 {"Message", "update in progress"}};
            --r.polls_rolling;
            return;
        }
        if (s["UpdateStatus"].as_object()["State"] != "updating")
            s["UpdateStatus"].as_object()["StartedAt"] = "t" + std::to_string(++clock);
        if (!r.cause.empty())
        {
            s["UpdateStatus"].as_object()["State"] = "rollback_started";
            s["UpdateStatus"].as_object()["Message"] = r.cause;
            r.cause.clear();
            return;
        }
        s["UpdateStatus"].as_object()["State"] = r.end;
        s["UpdateStatus"].as_object()["Message"] = r.message;
        if (r.end == "rollback_completed")
            s["Spec"] = s["PreviousSpec"];
        if (r.end != "never")
            rolling_.erase(it);
        else
            s["UpdateStatus"].as_object()["State"] = "updating";
    }
    std::map<std::string, rollout> rolling_;
};

}  // namespace imagewatch::test
