// docker::client against the real dockerd and registry of test/e2e/env.sh (label e2e; exits 77
// without the environment). Images are built with `docker import` and pushed with the docker CLI
// (DOCKER_CONFIG holds the login), then removed locally so the client's pull really pulls.
#include "docker/client.hpp"
#include "docker/recreate_spec.hpp"
#include "docker/registry_auth.hpp"

#include "support/e2e_env.hpp"
#include "support/run_coro.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

using namespace imagewatch;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::map<std::string, std::string>& env()
{
    static const auto e = test::e2e_env();
    return e;
}

std::string docker_bin()
{
    auto it = env().find("DOCKER_BIN");
    return it != env().end() && ::access(it->second.c_str(), X_OK) == 0 ? it->second : std::string("docker");
}

// Runs a shell command with the environment's docker CLI settings: its exit status and output.
std::pair<int, std::string> run_shell(const std::string& cmd)
{
    std::string full = "DOCKER_HOST='" + env().at("DOCKER_HOST") + "' DOCKER_CONFIG='" + env().at("DOCKER_CONFIG") +
                       "' DOCKER='" + docker_bin() + "' bash -euo pipefail -c '" + cmd + "' 2>&1";
    FILE* p = ::popen(full.c_str(), "r");
    if (p == nullptr)
        return {-1, "popen failed"};
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    return {::pclose(p), out};
}

// As run_shell; returns stdout, fails the test on rc != 0.
std::string sh(const std::string& cmd)
{
    auto [rc, out] = run_shell(cmd);
    REQUIRE_MESSAGE(rc == 0, "command failed: " << cmd << "\n" << out);
    return out;
}

const std::string& nonce()
{
    static const std::string n = std::to_string(::getpid()) + "-" +
                                 std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
    return n;
}

std::string repository() { return "imagewatch-e2e/docker-client"; }
std::string tag(const std::string& version) { return version + "-" + nonce(); }
std::string image(const std::string& version) { return env().at("REGISTRY") + "/" + repository() + ":" + tag(version); }
image_ref ref(const std::string& version) { return image_ref{env().at("REGISTRY"), repository(), tag(version), ""}; }

// Pushes two busybox images, v1 and v2, that differ in ENV APP_VERSION, LABEL org.test.image and CMD.
void push_images_once()
{
    static bool done = false;
    if (done)
        return;
    std::string dir = "/tmp/iw-docker-e2e-" + nonce();
    for (std::string v : {"v1", "v2"})
    {
        sh("d=" + dir +
           "; rm -rf $d; mkdir -p $d/rootfs/bin $d/rootfs/etc $d/rootfs/tmp; "
           "cp \"$(command -v busybox || echo /bin/busybox)\" $d/rootfs/bin/busybox; ln -s busybox $d/rootfs/bin/sh; "
           "echo " +
           v +
           " > $d/rootfs/etc/app-version; tar -C $d/rootfs -cf $d/img.tar .; "
           "\"$DOCKER\" import"
           " --change \"CMD [\\\"/bin/busybox\\\",\\\"sh\\\",\\\"-c\\\",\\\"trap exit TERM; echo " +
           v +
           "; /bin/busybox sleep 3600 & wait\\\"]\""
           " --change \"ENV APP_VERSION=" +
           v + " PATH=/bin\" --change \"LABEL org.test.image=" + v + "\" --change \"WORKDIR /etc\" $d/img.tar " +
           image(v) +
           " >/dev/null; "
           "\"$DOCKER\" push " +
           image(v) + " >/dev/null; \"$DOCKER\" rmi " + image(v) + " >/dev/null; rm -rf $d");
    }
    done = true;
}

// A case that uses the pushed images starts with them in the registry and leaves no local copy
// behind (one a container still uses stays), so a pull in any case, in any order, really pulls.
struct pushed_images
{
    pushed_images() { push_images_once(); }
    ~pushed_images() { run_shell("\"$DOCKER\" rmi " + image("v1") + " " + image("v2") + " >/dev/null 2>&1 || true"); }
};

std::unique_ptr<docker::api> make(asio::io_context& ioc)
{
    docker::client_settings s;
    const std::string host = env().at("DOCKER_HOST");
    REQUIRE(host.starts_with("unix:///"));  // the test environment's dockerd
    s.host = {"", 0, host.substr(7), host};
    s.request_timeout = 20s;
    auto c = docker::make_client(ioc.get_executor(), s);
    REQUIRE(c.has_value());
    return std::move(*c);
}

bool has_string(const json::value& arr, std::string_view s)
{
    const auto* a = arr.if_array();
    return a && std::any_of(a->begin(), a->end(),
                            [&](const json::value& v) { return v.is_string() && v.get_string() == s; });
}

// Removes containers this run created, whatever state a failed check left them in.
awaitable<void> cleanup(docker::api& c, std::string prefix)
{
    auto list = co_await c.list_containers();
    if (!list)
        co_return;
    for (const auto& s : *list)
        if (s.name.starts_with(prefix))
            (void)co_await c.remove_container(s.id, true);
}

}  // namespace

// Negotiation against the real engine: 20.10 speaks 1.41, newer ones are capped at 1.45.
TEST_CASE("e2e docker: ping negotiates a version")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto c = make(ioc);
        auto v = co_await c->ping();
        REQUIRE_MESSAGE(v.has_value(), v.error().message);
        CHECK(v->api_version >= std::string("1.41"));
        CHECK(v->api_version <= std::string("1.45"));
        CHECK_FALSE(v->engine_version.empty());
        CHECK(v->os == "linux");
    });
}

// Anonymous pull through the registry's token auth, then with X-Registry-Auth; a missing tag fails clearly.
TEST_CASE_FIXTURE(pushed_images, "e2e docker: pull")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            auto c = make(ioc);
            auto p = co_await c->pull(ref("v1"), "", "", 60s, {});
            REQUIRE_MESSAGE(p.has_value(), p.error().message);
            // The real daemon's stream, summed: every layer finished, every byte counted.
            MESSAGE("pulled " << p->layers << " layer(s), " << p->bytes_done << " of " << p->bytes_total << " bytes");
            CHECK(p->layers >= 1);
            CHECK(p->layers_done == p->layers);
            CHECK(p->bytes_total > 0);
            CHECK(p->bytes_done == p->bytes_total);
            auto img = co_await c->inspect_image(image("v1"));
            REQUIRE_MESSAGE(img.has_value(), img.error().message);
            const auto& digests = img->at("RepoDigests").as_array();
            CHECK(std::any_of(digests.begin(), digests.end(), [](const json::value& d) {
                return d.as_string().starts_with(env().at("REGISTRY") + "/" + repository() + "@sha256:");
            }));

            std::string auth = docker::encode_registry_auth(env().at("REGISTRY_USER"), env().at("REGISTRY_PASSWORD"),
                                                            env().at("REGISTRY"));
            auto p2 = co_await c->pull(ref("v2"), "", auth, 60s, {});
            REQUIRE_MESSAGE(p2.has_value(), p2.error().message);

            auto missing = co_await c->pull(ref("no-such-tag"), "", "", 60s, {});
            REQUIRE_FALSE(missing.has_value());
            MESSAGE("missing tag: " << missing.error().message);
            CHECK(missing.error().code == errc::not_found);
            CHECK(missing.error().message.starts_with("pull " + image("no-such-tag") + ": "));
            CHECK(missing.error().message.find("manifest unknown") != std::string::npos);

            auto bad_auth = co_await c->pull(
                ref("v1"), "", docker::encode_registry_auth("admin", "wrong", env().at("REGISTRY")), 60s, {});
            REQUIRE_FALSE(bad_auth.has_value());
            MESSAGE("wrong password: " << bad_auth.error().message);
            CHECK(bad_auth.error().code == errc::unauthorized);

            auto unknown = co_await c->inspect_image(image("no-such-tag"));
            REQUIRE_FALSE(unknown.has_value());
            CHECK(unknown.error().code == errc::not_found);
        },
        120s);
}

// Create/start/inspect/stop/rename/remove with NetworkMode none; 304s are success; 404 after removal.
TEST_CASE_FIXTURE(pushed_images, "e2e docker: container lifecycle")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            auto c = make(ioc);
            const std::string name = "iw-e2e-docker-life-" + nonce();
            co_await cleanup(*c, name);
            REQUIRE((co_await c->pull(ref("v1"), "", "", 60s, {})).has_value());

            json::object body;
            body["Image"] = image("v1");
            body["Labels"] = json::object{{"imagewatch.test", "lifecycle"}};
            body["HostConfig"] = json::object{{"NetworkMode", "none"}};
            auto id = co_await c->create_container(name, body);
            REQUIRE_MESSAGE(id.has_value(), id.error().message);

            auto dup = co_await c->create_container(name, body);
            REQUIRE_FALSE(dup.has_value());
            CHECK(dup.error().code == errc::failed);
            CHECK(dup.error().message.find("(HTTP 409)") != std::string::npos);

            REQUIRE((co_await c->start_container(*id)).has_value());
            CHECK((co_await c->start_container(*id)).has_value());  // 304: already running
            auto running = co_await c->inspect_container(name);
            REQUIRE(running.has_value());
            CHECK(running->at("State").at("Running") == true);

            auto list = co_await c->list_containers();
            REQUIRE(list.has_value());
            auto it = std::find_if(list->begin(), list->end(), [&](const auto& s) { return s.id == *id; });
            REQUIRE(it != list->end());
            CHECK(it->name == name);
            CHECK(it->state == "running");
            CHECK(it->labels.at("imagewatch.test") == "lifecycle");

            auto t0 = std::chrono::steady_clock::now();
            REQUIRE((co_await c->stop_container(*id, 10s)).has_value());
            CHECK(std::chrono::steady_clock::now() - t0 < 5s);          // the trap stops it at once
            CHECK((co_await c->stop_container(*id, 10s)).has_value());  // 304: already stopped

            REQUIRE((co_await c->rename_container(*id, name + "-imagewatch-old")).has_value());
            auto renamed = co_await c->inspect_container(name + "-imagewatch-old");
            REQUIRE(renamed.has_value());
            CHECK(renamed->at("State").at("Running") == false);

            REQUIRE((co_await c->remove_container(*id, false)).has_value());
            auto gone = co_await c->inspect_container(*id);
            REQUIRE_FALSE(gone.has_value());
            CHECK(gone.error().code == errc::not_found);
            auto gone2 = co_await c->remove_container(*id, true);
            CHECK(gone2.error().code == errc::not_found);
        },
        120s);
}

// The recreate spec round trip on a real engine: the create request it builds is accepted, the new
// image's defaults apply where the container only inherited the old ones, and the user's settings
// (env, label, restart policy, memory, anonymous volume) carry over.
TEST_CASE_FIXTURE(pushed_images, "e2e docker: recreate spec is accepted and faithful")
{
    test::run_coro(
        [](asio::io_context& ioc) -> awaitable<void> {
            auto c = make(ioc);
            const std::string name = "iw-e2e-docker-swap-" + nonce();
            co_await cleanup(*c, name);
            REQUIRE((co_await c->pull(ref("v1"), "", "", 60s, {})).has_value());
            REQUIRE((co_await c->pull(ref("v2"), "", "", 60s, {})).has_value());

            json::object body;
            body["Image"] = image("v1");
            body["Env"] = json::array{"USER_VAR=kept"};
            body["Labels"] = json::object{{"user.label", "mine"}};
            body["Volumes"] = json::object{{"/anon", json::object{}}};
            body["HostConfig"] = json::object{
                {"NetworkMode", "none"},
                {"RestartPolicy", json::object{{"Name", "unless-stopped"}, {"MaximumRetryCount", 0}}},
                {"Memory", 64 * 1024 * 1024},
            };
            auto old_id = co_await c->create_container(name, body);
            REQUIRE_MESSAGE(old_id.has_value(), old_id.error().message);
            REQUIRE((co_await c->start_container(*old_id)).has_value());

            auto inspect = co_await c->inspect_container(*old_id);
            auto old_image = co_await c->inspect_image(image("v1"));
            auto new_image = co_await c->inspect_image(image("v2"));
            REQUIRE((inspect && old_image && new_image));
            auto spec = docker::build_recreate_spec(*inspect, *old_image, *new_image, image("v2"), *old_id);
            REQUIRE_MESSAGE(spec.has_value(), spec.error().message);
            CHECK(spec->start);

            REQUIRE((co_await c->rename_container(*old_id, name + "-imagewatch-old")).has_value());
            REQUIRE((co_await c->stop_container(*old_id, 10s)).has_value());
            auto new_id = co_await c->create_container(name, spec->body);
            REQUIRE_MESSAGE(new_id.has_value(), new_id.error().message << "\n" << json::serialize(spec->body));
            REQUIRE((co_await c->start_container(*new_id)).has_value());

            auto fresh = co_await c->inspect_container(*new_id);
            REQUIRE(fresh.has_value());
            const auto& cfg = fresh->at("Config").as_object();
            CHECK(has_string(cfg.at("Env"), "APP_VERSION=v2"));
            CHECK(has_string(cfg.at("Env"), "USER_VAR=kept"));
            CHECK_FALSE(has_string(cfg.at("Env"), "APP_VERSION=v1"));
            CHECK(cfg.at("Labels").at("org.test.image") == "v2");
            CHECK(cfg.at("Labels").at("user.label") == "mine");
            CHECK(cfg.at("Labels").at("imagewatch.replaced-from") == json::value(*old_id));
            CHECK(cfg.at("Cmd").as_array().at(3).as_string().find("echo v2") != json::string::npos);
            CHECK(cfg.at("Hostname") == json::value(new_id->substr(0, 12)));
            const auto& hc = fresh->at("HostConfig").as_object();
            CHECK(hc.at("RestartPolicy").at("Name") == "unless-stopped");
            CHECK(hc.at("Memory") == 64 * 1024 * 1024);
            CHECK(hc.at("NetworkMode") == "none");
            CHECK(fresh->at("State").at("Running") == true);
            // The anonymous volume is the old container's, mounted by name.
            auto volume_of = [](const json::object& o) {
                for (const auto& m : o.at("Mounts").as_array())
                    if (m.at("Destination") == "/anon")
                        return std::string(m.at("Name").as_string());
                return std::string();
            };
            CHECK_FALSE(volume_of(*inspect).empty());
            CHECK(volume_of(*fresh) == volume_of(*inspect));

            REQUIRE((co_await c->remove_container(*old_id, true)).has_value());
            REQUIRE((co_await c->remove_container(*new_id, true)).has_value());
            if (!volume_of(*inspect).empty())  // removal kept it, as it should; this test's own cleanup
                sh("\"$DOCKER\" volume rm " + volume_of(*inspect) + " >/dev/null");
        },
        120s);
}

// No daemon behind the socket: errc::unreachable with the operator hint.
TEST_CASE("e2e docker: unreachable socket")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        docker::client_settings s;
        s.host = {"", 0, "/tmp/imagewatch-e2e/no-such-docker.sock", "unix:///tmp/imagewatch-e2e/no-such-docker.sock"};
        auto c = docker::make_client(ioc.get_executor(), s);
        REQUIRE(c.has_value());
        auto r = co_await (*c)->list_containers();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::unreachable);
        CHECK(r.error().message.find("no such socket; start dockerd, or set docker.host or DOCKER_HOST") !=
              std::string::npos);
    });
}
