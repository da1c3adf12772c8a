// registry::client against the real TLS + token registry of test/e2e/env.sh (distribution 2.8 behind
// registry.test:5443, token server registry.test:5001). Images are pushed with the docker CLI.
#include "registry/client.hpp"

#include "support/e2e_env.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace std::chrono_literals;

namespace {

const std::map<std::string, std::string>& env()
{
    static const auto e = test::e2e_env();
    return e;
}

std::string quote(const std::string& s)
{
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string nonce()
{
    std::random_device rd;
    return std::to_string(rd()) + std::to_string(rd());
}

// Runs a shell command, returns its combined output; fails the test on a non-zero exit.
std::string sh(const std::string& cmd)
{
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    std::array<char, 4096> buf{};
    while (auto n = std::fread(buf.data(), 1, buf.size(), p))
        out.append(buf.data(), n);
    int rc = pclose(p);
    INFO("command: " << cmd << "\noutput: " << out);
    REQUIRE(rc == 0);
    return out;
}

std::string docker_cmd()
{
    auto bin = env().count("DOCKER_BIN") ? env().at("DOCKER_BIN") : std::string("docker");
    return "DOCKER_CONFIG=" + quote(env().at("DOCKER_CONFIG")) + " " + quote(bin) + " -H " +
           quote(env().at("DOCKER_HOST"));
}

// Imports a one-file image (new content every call) as REGISTRY/<repo_tag>, pushes it with the
// logged-in docker config and returns the digest `docker push` printed.
std::string push_new_image(const std::string& repo_tag)
{
    namespace fs = std::filesystem;
    auto dir = fs::temp_directory_path() / ("iw-registry-e2e-" + nonce());
    fs::create_directories(dir / "rootfs/etc");
    std::ofstream(dir / "rootfs/etc/build") << nonce() << "\n";
    sh("tar -C " + quote((dir / "rootfs").string()) + " -cf " + quote((dir / "image.tar").string()) + " .");
    std::string target = env().at("REGISTRY") + "/" + repo_tag;
    sh(docker_cmd() + " import " + quote((dir / "image.tar").string()) + " " + quote(target));
    auto pushed = sh(docker_cmd() + " push " + quote(target));
    sh(docker_cmd() + " rmi " + quote(target));
    fs::remove_all(dir);
    std::smatch m;
    INFO("docker push output: " << pushed);
    REQUIRE(std::regex_search(pushed, m, std::regex("digest: (sha256:[0-9a-f]{64})")));
    return m[1];
}

image_ref e2e_ref(std::string repository, std::string tag)
{
    return image_ref{env().at("REGISTRY"), std::move(repository), std::move(tag), ""};
}

client_settings settings_with(std::string ca_file, std::optional<credentials> creds = std::nullopt)
{
    client_settings s;
    s.connect_timeout = 5s;
    s.request_timeout = 10s;
    s.host_options_for = [ca_file = std::move(ca_file), creds = std::move(creds)](std::string_view host) {
        // Only the registry has an entry; the realm (registry.test:5001) inherits its ca_file.
        if (host == env().at("REGISTRY"))
            return host_options{ca_file, false, creds};
        return host_options{};
    };
    return s;
}

const std::string other_ca = IMAGEWATCH_TEST_DATA "/registry/tls/other-ca.crt";

}  // namespace

TEST_CASE("e2e registry: head_digest returns exactly the digest docker push printed, and follows the tag")
{
    std::string tag = "e2e-" + nonce();
    auto pushed = push_new_image("test/registry-client:" + tag);

    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            // Anonymous: the token server grants pull to anyone.
            auto anon = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
            auto d = co_await anon->head_digest(e2e_ref("test/registry-client", tag));
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(*d == pushed);

            // With credentials (Basic on the token request).
            auto authed = make_client(
                ioc.get_executor(),
                settings_with(env().at("REGISTRY_CA"),
                              credentials{env().at("REGISTRY_USER"), env().at("REGISTRY_PASSWORD"), "e2e env"})
            );
            d = co_await authed->head_digest(e2e_ref("test/registry-client", tag));
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(*d == pushed);

            // By digest.
            image_ref by_digest = e2e_ref("test/registry-client", "");
            by_digest.digest = pushed;
            d = co_await anon->head_digest(by_digest);
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(*d == pushed);
        },
        60s
    );

    // The tag moves; the same client (warm token) sees the new digest.
    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            auto c = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
            auto before = co_await c->head_digest(e2e_ref("test/registry-client", tag));
            REQUIRE_MESSAGE(before.has_value(), before.error().message);
            CHECK(*before == pushed);
            auto moved = push_new_image("test/registry-client:" + tag);
            REQUIRE(moved != pushed);
            auto after = co_await c->head_digest(e2e_ref("test/registry-client", tag));
            REQUIRE_MESSAGE(after.has_value(), after.error().message);
            CHECK(*after == moved);
        },
        60s
    );
}

TEST_CASE("e2e registry: a wrong CA file is unreachable with certificate verify failed")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto c = make_client(ioc.get_executor(), settings_with(other_ca));
        auto d = co_await c->head_digest(e2e_ref("test/registry-client", "latest"));
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);
        MESSAGE(d.error().message);

        // The system CAs alone do not trust the test registry either.
        auto system_only = make_client(ioc.get_executor(), settings_with(""));
        d = co_await system_only->head_digest(e2e_ref("test/registry-client", "latest"));
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);
    });
}

TEST_CASE("e2e registry: a missing tag is not_found, a wrong password unauthorized")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto c = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
        auto d = co_await c->head_digest(e2e_ref("test/registry-client", "no-such-tag-" + nonce()));
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::not_found);
        CHECK(d.error().message.starts_with("manifest unknown: " + env().at("REGISTRY") + "/test/registry-client:"));

        auto wrong = make_client(
            ioc.get_executor(),
            settings_with(env().at("REGISTRY_CA"), credentials{env().at("REGISTRY_USER"), "wrong-password", "e2e env"})
        );
        d = co_await wrong->head_digest(e2e_ref("test/registry-client", "latest"));
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.starts_with(env().at("REGISTRY") + " refused credentials for test/registry-client: "));
        CHECK(d.error().message.find("wrong-password") == std::string::npos);
        MESSAGE(d.error().message);
    });
}
