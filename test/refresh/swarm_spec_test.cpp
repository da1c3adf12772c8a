// Swarm service decisions on values: reading a service, selecting it, the pinned spec, the end of
// an update, and the conflict test.
#include "refresh/result.hpp"
#include "refresh/select.hpp"
#include "refresh/swarm_spec.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::refresh;
namespace json = boost::json;

namespace {

const std::string D1 = "sha256:" + std::string(64, '1');
const std::string D2 = "sha256:" + std::string(64, '2');

// A GET /services/{id} answer as Engine 20.10 writes it (trimmed to the parts that matter, plus
// some it must carry through unchanged).
json::object service(std::string image, json::object update_status = {})
{
    json::object o = json::parse(R"({
      "ID": "svc1",
      "Version": {"Index": 41},
      "Spec": {
        "Name": "web",
        "Labels": {"app": "web"},
        "TaskTemplate": {
          "ContainerSpec": {"Image": "", "Env": ["A=1"], "Init": true,
                            "Labels": {"inner": "x"}, "StopGracePeriod": 5000000000},
          "RestartPolicy": {"Condition": "any", "MaxAttempts": 0},
          "ForceUpdate": 0,
          "Runtime": "container"
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "UpdateConfig": {"Parallelism": 1, "FailureAction": "rollback", "Monitor": 3000000000,
                         "MaxFailureRatio": 0, "Order": "stop-first"},
        "RollbackConfig": {"Parallelism": 1, "Order": "stop-first"},
        "EndpointSpec": {"Mode": "vip"}
      },
      "PreviousSpec": {"Name": "web"}
    })")
                         .as_object();
    o["Spec"].as_object()["TaskTemplate"].as_object()["ContainerSpec"].as_object()["Image"] = image;
    if (!update_status.empty())
        o["UpdateStatus"] = std::move(update_status);
    return o;
}

config::runtime runtime_with_services(std::optional<config::selector> services)
{
    config::runtime rt{
        "web", parse_image_ref("registry.test:5444/team/web:v1").value(), config::selector{"ws-", ""}, {}};
    rt.services = std::move(services);
    return rt;
}

}  // namespace

TEST_CASE("read_service: id, name, version, image, labels, update status")
{
    auto v = read_service(
        service("registry.test:5444/team/web:v1@" + D1,
                json::object{{"State", "completed"}, {"StartedAt", "t1"}, {"Message", "update completed"}}));
    REQUIRE(v.has_value());
    CHECK(v->id == "svc1");
    CHECK(v->name == "web");
    CHECK(v->version == 41);
    CHECK(v->image == "registry.test:5444/team/web:v1@" + D1);
    CHECK(v->labels.at("app") == "web");
    CHECK(v->status.state == "completed");
    CHECK(v->status.started_at == "t1");
    CHECK(v->status.message == "update completed");

    auto no_version = service("x");
    no_version.erase("Version");
    CHECK_FALSE(read_service(no_version).has_value());
    auto plugin = service("x");
    plugin["Spec"].as_object()["TaskTemplate"].as_object().erase("ContainerSpec");
    CHECK(read_service(plugin).error().message.find("not a container service") != std::string::npos);
}

TEST_CASE("selects_service: the runtime's tag whatever the pinned digest, the selector, the opt-out")
{
    auto on = [](const config::runtime& rt, std::string image, std::map<std::string, std::string> labels = {},
                 std::string name = "web") {
        service_view s;
        s.name = std::move(name);
        s.image = std::move(image);
        s.labels = std::move(labels);
        return selects_service(rt, s);
    };
    const auto any = runtime_with_services(config::selector{"", ""});
    CHECK(on(any, "registry.test:5444/team/web:v1@" + D1));
    CHECK(on(any, "registry.test:5444/team/web:v1"));
    CHECK_FALSE(on(any, "registry.test:5444/team/web:v2@" + D1));    // another tag
    CHECK_FALSE(on(any, "registry.test:5444/team/web-x:v1@" + D1));  // another repository, not a substring
    CHECK_FALSE(on(any, "registry.test:5444/team/web:v1", {{"imagewatch.enable", "false"}}));
    // Absent services selector: no service, whatever it runs.
    CHECK_FALSE(on(runtime_with_services(std::nullopt), "registry.test:5444/team/web:v1"));
    const auto labelled = runtime_with_services(config::selector{"front-", "tier=web"});
    CHECK(on(labelled, "registry.test:5444/team/web:v1", {{"tier", "web"}}, "front-web"));
    CHECK_FALSE(on(labelled, "registry.test:5444/team/web:v1", {{"tier", "web"}}, "web"));
    CHECK_FALSE(on(labelled, "registry.test:5444/team/web:v1", {{"tier", "db"}}, "front-web"));
}

TEST_CASE("pinned image: the service's own spelling, tag kept, digest replaced or added")
{
    CHECK(pinned_image("registry.test:5444/team/web:v1@" + D1, D2) == "registry.test:5444/team/web:v1@" + D2);
    CHECK(pinned_image("registry.test:5444/team/web:v1", D2) == "registry.test:5444/team/web:v1@" + D2);
    CHECK(pinned_image("nginx:1.25", D2) == "nginx:1.25@" + D2);
}

TEST_CASE("on_digest: only the exact pinned digest counts")
{
    service_view s;
    s.image = "registry.test:5444/team/web:v1@" + D1;
    CHECK(on_digest(s, D1));
    CHECK_FALSE(on_digest(s, D2));
    s.image = "registry.test:5444/team/web:v1";  // unpinned: nodes may run anything
    CHECK_FALSE(on_digest(s, D1));
}

TEST_CASE("repo_digest: the entry of the image's own repository")
{
    auto ref = parse_image_ref("registry.test:5444/team/web:v1").value();
    json::object img{{"RepoDigests", json::array{"other.test/team/web@" + D1, "registry.test:5444/team/web@" + D2}}};
    CHECK(repo_digest(img, ref) == D2);
    CHECK(repo_digest(json::object{{"RepoDigests", json::array{}}}, ref).empty());
    CHECK(repo_digest(json::object{}, ref).empty());
    // Docker Hub's familiar form in RepoDigests.
    auto hub = parse_image_ref("nginx:1.25").value();
    CHECK(repo_digest(json::object{{"RepoDigests", json::array{"nginx@" + D1}}}, hub) == D1);
}

TEST_CASE("updated_spec: the image pinned, every other field of Spec unchanged")
{
    auto svc = service("registry.test:5444/team/web:v1@" + D1);
    auto spec = updated_spec(svc, "registry.test:5444/team/web:v1@" + D2);
    REQUIRE(spec.has_value());
    CHECK(spec->at("TaskTemplate").at("ContainerSpec").at("Image").as_string() ==
          "registry.test:5444/team/web:v1@" + D2);
    // Put the old image back: what remains must be Spec exactly.
    auto back = *spec;
    back["TaskTemplate"].as_object()["ContainerSpec"].as_object()["Image"] = "registry.test:5444/team/web:v1@" + D1;
    CHECK(json::serialize(back) == json::serialize(svc.at("Spec")));
    // Spec only: never the service's ID, Version or PreviousSpec.
    CHECK_FALSE(spec->contains("PreviousSpec"));
    CHECK_FALSE(spec->contains("Version"));
    CHECK(spec->at("UpdateConfig").at("FailureAction").as_string() == "rollback");
}

TEST_CASE("classify: the end states, and an earlier update's status is not ours")
{
    auto st = [](std::string state, std::string started) {
        return update_status{std::move(state), "", std::move(started)};
    };
    CHECK(classify(st("completed", "t2"), "t1") == update_end::updated);
    CHECK(classify(st("rollback_completed", "t3"), "t1") == update_end::rolled_back);
    CHECK(classify(st("paused", "t2"), "t1") == update_end::paused);
    CHECK(classify(st("rollback_paused", "t3"), "t1") == update_end::paused);
    CHECK(classify(st("updating", "t2"), "t1") == update_end::in_progress);
    CHECK(classify(st("rollback_started", "t2"), "t1") == update_end::in_progress);
    // The service's status before our update: completed, but that was the last one.
    CHECK(classify(st("completed", "t1"), "t1") == update_end::in_progress);
    // Never updated before: no status at all until Swarm starts ours.
    CHECK(classify(st("", ""), "") == update_end::in_progress);
    CHECK(classify(st("completed", "t9"), "") == update_end::updated);
    CHECK(to_string(update_end::rolled_back) == "rolled_back");
}

TEST_CASE("is_out_of_sequence: Swarm's version conflict, nothing else")
{
    CHECK(is_out_of_sequence(
        make_error("update service x: rpc error: code = Unknown desc = update out of sequence (HTTP 500)")));
    CHECK_FALSE(is_out_of_sequence(make_error("update service x: No such service (HTTP 404)")));
}

TEST_CASE("a Swarm task container is never selected as a container, whatever the selector says")
{
    const std::map<std::string, std::string> task{
        {"com.docker.swarm.node.id", "n1"}, {"com.docker.swarm.service.id", "s1"}, {"com.docker.swarm.task.id", "t1"}};
    CHECK(is_swarm_task(task));
    CHECK_FALSE(name_and_labels_match(config::selector{"", ""}, "web.1.abc", task));
    CHECK_FALSE(name_and_labels_match(config::selector{"web", "com.docker.swarm.service.id"}, "web.1.abc", task));
    CHECK_FALSE(is_swarm_task({{"com.docker.swarmish", "x"}, {"app", "web"}}));
    CHECK_FALSE(is_swarm_task({{"com.docker.compose.project", "x"}}));
    CHECK(name_and_labels_match(config::selector{"", ""}, "web", {{"com.docker.compose.project", "x"}}));
}

TEST_CASE("result JSON: services appear only when a refresh looked at one")
{
    refresh_result r;
    CHECK(to_json(r).find("services") == std::string::npos);
    r.services.push_back({"web", "front", "rolled_back", "reg/web:v1@" + D2, "rollback completed"});
    CHECK(to_json(r).ends_with(
        R"("errors":[],"services":[{"runtime":"web","service":"front","result":"rolled_back","image":"reg/web:v1@)" +
        D2 + R"(","message":"rollback completed"}]})"));
}
