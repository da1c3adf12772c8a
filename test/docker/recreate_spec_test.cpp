#include "docker/recreate_spec.hpp"
#include "support/test_data.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace imagewatch;
namespace json = boost::json;
using docker::build_recreate_spec;

// Fixtures in test/data/docker were recorded from dockerd 20.10 (API 1.41): test/app:v1 and v2 are
// busybox images imported with ENV APP_VERSION=v1|v2 PATH=/bin, LABEL org.test.image=v1|v2
// org.test.keep=same, WORKDIR /etc and a sleeping CMD; each container-*.json was made from v1 by the
// `docker run/create` noted in its test.
namespace {

json::object load(const std::string& name) { return json::parse(test::test_data("docker/" + name)).as_object(); }

struct fixture
{
    json::object container;
    json::object v1 = load("image-app-v1.json");
    json::object v2 = load("image-app-v2.json");
    std::string id;

    explicit fixture(const std::string& name) : container(load("container-" + name + ".json"))
    {
        id = std::string(container.at("Id").as_string());
    }

    result<docker::create_spec> build() const
    {
        return build_recreate_spec(container, v1, v2, "registry.test:5443/test/app:v2", id);
    }
};

const json::value& at(const json::object& o, std::string_view path_a, std::string_view path_b = {})
{
    const json::value& v = o.at(path_a);
    return path_b.empty() ? v : v.as_object().at(path_b);
}

}  // namespace

// docker run -d --name basic --network none -e USER_VAR=hello -e APP_VERSION=v1 -e PATH=/bin:/usr/local/bin
//   --label user.label=mine --label org.test.keep=same -v $D/data:/data
//   --mount type=volume,source=iwdev-vol,target=/vol --restart unless-stopped -m 64m test/app:v1
TEST_CASE("recreate spec: inherited env/labels/cmd dropped, user ones kept, HostConfig copied")
{
    fixture f("basic");
    auto r = f.build();
    REQUIRE(r.has_value());
    const json::object& b = r->body;
    CHECK(b.at("Image") == "registry.test:5443/test/app:v2");
    // APP_VERSION=v1 equals the old image's entry: dropped so v2's APP_VERSION applies. PATH was changed.
    CHECK(b.at("Env") == json::parse(R"(["USER_VAR=hello","PATH=/bin:/usr/local/bin"])"));
    CHECK(b.at("Labels") == json::parse(R"({"user.label":"mine","imagewatch.replaced-from":")" + f.id + R"("})"));
    CHECK_FALSE(b.contains("Cmd"));
    CHECK_FALSE(b.contains("Entrypoint"));
    CHECK_FALSE(b.contains("WorkingDir"));
    CHECK_FALSE(b.contains("User"));
    CHECK_FALSE(b.contains("Hostname"));  // engine-generated short ID
    CHECK_FALSE(b.contains("Domainname"));
    const json::object& hc = b.at("HostConfig").as_object();
    CHECK(hc.at("Binds") == json::parse(R"(["/tmp/iw-dockerdev/data:/data"])"));
    CHECK(hc.at("Mounts") == json::parse(R"([{"Type":"volume","Source":"iwdev-vol","Target":"/vol"}])"));
    CHECK(hc.at("RestartPolicy") == json::parse(R"({"Name":"unless-stopped","MaximumRetryCount":0})"));
    CHECK(hc.at("Memory") == 67108864);
    CHECK(hc.at("NetworkMode") == "none");
    CHECK_FALSE(b.contains("NetworkingConfig"));
    CHECK(r->extra_networks.empty());
    CHECK(r->start);
}

// docker create --name cmdov --network none test/app:v1 /bin/busybox sleep 100
TEST_CASE("recreate spec: a Cmd override is kept; a created container is not started")
{
    fixture f("cmdov");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(r->body.at("Cmd") == json::parse(R"(["/bin/busybox","sleep","100"])"));
    CHECK_FALSE(r->body.contains("Entrypoint"));
    CHECK_FALSE(r->start);
}

// docker create --name entryov --network none --entrypoint /bin/busybox test/app:v1 sleep 100
TEST_CASE("recreate spec: an Entrypoint override keeps both Entrypoint and Cmd")
{
    fixture f("entryov");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(r->body.at("Entrypoint") == json::parse(R"(["/bin/busybox"])"));
    CHECK(r->body.at("Cmd") == json::parse(R"(["sleep","100"])"));
}

// Entrypoint overridden, no Cmd given: Docker ran it without the image's Cmd; the replacement must too.
TEST_CASE("recreate spec: Entrypoint override with a null Cmd keeps the null")
{
    fixture f("entryov");
    auto& cfg = f.container.at("Config").as_object();
    cfg["Cmd"] = nullptr;
    auto r = f.build();
    REQUIRE(r.has_value());
    REQUIRE(r->body.contains("Cmd"));
    CHECK(r->body.at("Cmd").is_null());
}

// docker create --name hn --hostname myhost --network none -u 1000 -w /tmp test/app:v1
TEST_CASE("recreate spec: user hostname, user and workdir are kept")
{
    fixture f("hn");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(r->body.at("Hostname") == "myhost");
    CHECK(r->body.at("User") == "1000");
    CHECK(r->body.at("WorkingDir") == "/tmp");
    CHECK_FALSE(r->body.contains("Env"));  // all inherited
    CHECK(r->body.at("Labels") == json::parse(R"({"imagewatch.replaced-from":")" + f.id + R"("})"));
}

// docker create --name anon --network none -v /anon --expose 8080 --health-cmd true --health-interval 5s
//   --stop-signal SIGINT test/app:v1
TEST_CASE("recreate spec: anonymous volume mounted by name, user expose/healthcheck/stop signal kept")
{
    fixture f("anon");
    auto r = f.build();
    REQUIRE(r.has_value());
    const json::object& b = r->body;
    CHECK(b.at("ExposedPorts") == json::parse(R"({"8080/tcp":{}})"));
    CHECK(b.at("Volumes") == json::parse(R"({"/anon":{}})"));
    CHECK(at(b, "Healthcheck", "Interval") == 5000000000);
    CHECK(b.at("StopSignal") == "SIGINT");
    CHECK(at(b, "HostConfig", "Mounts") == json::parse(R"([{"Type":"volume","Source":
        "032f5aba2ee698336ea2ff7027e9d6375d13fae0fefef095a44ae2f03308607a","Target":"/anon","ReadOnly":false}])"));
}

// The same values coming from the old image (EXPOSE, HEALTHCHECK, VOLUME, STOPSIGNAL) are dropped.
TEST_CASE("recreate spec: image-inherited expose/healthcheck/volumes/stop signal dropped")
{
    fixture f("anon");
    auto& img = f.v1.at("Config").as_object();
    const auto& cfg = f.container.at("Config").as_object();
    for (const char* k : {"ExposedPorts", "Healthcheck", "Volumes", "StopSignal"})
        img[k] = cfg.at(k);
    auto r = f.build();
    REQUIRE(r.has_value());
    for (const char* k : {"ExposedPorts", "Healthcheck", "Volumes", "StopSignal"})
        CHECK_MESSAGE(!r->body.contains(k), k);
    // The anonymous volume the old image's VOLUME created still carries over by name.
    CHECK(at(r->body, "HostConfig", "Mounts").as_array().size() == 1);
}

// An inherited EXPOSE stays when the user published it (-p): the binding refers to it.
TEST_CASE("recreate spec: exposed ports with a port binding are kept")
{
    fixture f("anon");
    f.v1.at("Config").as_object()["ExposedPorts"] = json::parse(R"({"8080/tcp":{}})");
    f.container.at("HostConfig").as_object()["PortBindings"] =
        json::parse(R"({"8080/tcp":[{"HostIp":"","HostPort":"18080"}]})");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(r->body.at("ExposedPorts") == json::parse(R"({"8080/tcp":{}})"));
    CHECK(at(r->body, "HostConfig", "PortBindings") ==
          json::parse(R"({"8080/tcp":[{"HostIp":"","HostPort":"18080"}]})"));
}

// docker run -d --name hostnet --network host test/app:v1
TEST_CASE("recreate spec: host network keeps only NetworkMode (hostname is the host's)")
{
    fixture f("hostnet");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "HostConfig", "NetworkMode") == "host");
    CHECK_FALSE(r->body.contains("NetworkingConfig"));
    CHECK_FALSE(r->body.contains("Hostname"));
    CHECK(r->extra_networks.empty());
}

// docker run -d --name sidecar --network container:basic test/app:v1
TEST_CASE("recreate spec: container: network mode is kept, hostname dropped")
{
    fixture f("sidecar");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "HostConfig", "NetworkMode") ==
          "container:7a5806377309ce36717b28742c6ca7d6fe7945b72ad31de58eb1c3e16fbfec97");
    CHECK_FALSE(r->body.contains("Hostname"));
    CHECK_FALSE(r->body.contains("NetworkingConfig"));
    CHECK(r->extra_networks.empty());
}

// docker run -d --name multinet --network iwdev-a --ip 10.231.7.50 --network-alias web --network-alias api
//   test/app:v1 && docker network connect --alias backend iwdev-b multinet
TEST_CASE("recreate spec: networks with aliases minus short ID, static IP from IPAMConfig, no MAC")
{
    fixture f("multinet");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "HostConfig", "NetworkMode") == "iwdev-a");
    CHECK(at(r->body, "NetworkingConfig", "EndpointsConfig") ==
          json::parse(R"({"iwdev-a":{"IPAMConfig":{"IPv4Address":"10.231.7.50"},"Aliases":["web","api"]}})"));
    REQUIRE(r->extra_networks.size() == 1);
    CHECK(r->extra_networks[0].first == "iwdev-b");
    CHECK(r->extra_networks[0].second == json::parse(R"({"Aliases":["backend"]})").as_object());
    CHECK(json::serialize(r->body).find("02:42:") == std::string::npos);
}

// The primary network is the one NetworkMode names, not the first in (alphabetical) inspect order.
TEST_CASE("recreate spec: primary network follows NetworkMode")
{
    fixture f("multinet");
    f.container.at("HostConfig").as_object()["NetworkMode"] = "iwdev-b";
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "NetworkingConfig", "EndpointsConfig").as_object().contains("iwdev-b"));
    REQUIRE(r->extra_networks.size() == 1);
    CHECK(r->extra_networks[0].first == "iwdev-a");
}

// The default bridge: no aliases (rejected there by Docker 25+), the legacy setup otherwise carried.
TEST_CASE("recreate spec: default bridge network gets no aliases")
{
    fixture f("multinet");
    auto& hc = f.container.at("HostConfig").as_object();
    hc["NetworkMode"] = "default";
    auto& nets = f.container.at("NetworkSettings").as_object().at("Networks").as_object();
    json::object bridge = nets.at("iwdev-b").as_object();
    bridge["Aliases"] = json::parse(R"(["822f83b45347"])");
    nets.clear();
    nets["bridge"] = bridge;
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "NetworkingConfig", "EndpointsConfig") == json::parse(R"({"bridge":{}})"));
    CHECK(r->extra_networks.empty());
}

// Legacy links come back from inspect as "/db:/web/db"; create needs "db:db".
TEST_CASE("recreate spec: legacy links rewritten to create syntax")
{
    fixture f("basic");
    f.container.at("HostConfig").as_object()["Links"] = json::parse(R"(["/db:/basic/database","/cache:/basic/cache"])");
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "HostConfig", "Links") == json::parse(R"(["db:database","cache:cache"])"));
}

// docker run -d --name rmme --rm --network none test/app:v1
TEST_CASE("recreate spec: --rm containers are refused")
{
    fixture f("rmme");
    auto r = f.build();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::not_reproducible);
    CHECK(r.error().message.find("container rmme cannot be recreated faithfully") == 0);
    CHECK(r.error().message.find("--rm") != std::string::npos);
}

TEST_CASE("recreate spec: swarm tasks and dead containers are refused")
{
    {
        fixture f("basic");
        f.container.at("Config").as_object().at("Labels").as_object()["com.docker.swarm.task.id"] = "x";
        auto r = f.build();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::not_reproducible);
    }
    {
        fixture f("basic");
        f.container.at("State").as_object()["Status"] = "dead";
        auto r = f.build();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::not_reproducible);
    }
}

// Paused and restarting count as running: the replacement is started.
TEST_CASE("recreate spec: paused or restarting means start")
{
    fixture f("cmdov");
    f.container.at("State").as_object()["Paused"] = true;
    CHECK(f.build()->start);
    f.container.at("State").as_object()["Paused"] = false;
    f.container.at("State").as_object()["Restarting"] = true;
    CHECK(f.build()->start);
}

// A replacement of a replacement: the label names the newest predecessor.
TEST_CASE("recreate spec: replaced-from label is overwritten")
{
    fixture f("basic");
    f.container.at("Config").as_object().at("Labels").as_object()["imagewatch.replaced-from"] = "older";
    auto r = f.build();
    REQUIRE(r.has_value());
    CHECK(at(r->body, "Labels", "imagewatch.replaced-from") == json::value(f.id));
}

TEST_CASE("recreate spec: inspect without Config is a bad response")
{
    fixture f("basic");
    f.container.erase("Config");
    auto r = f.build();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::bad_response);
}
