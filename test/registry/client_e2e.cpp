// registry::client against the real TLS + token registry of test/e2e/env.sh (distribution 2.8 behind
// registry.test:5443, token server registry.test:5001). Images are pushed with the docker CLI.
#include "registry/client.hpp"

#include "registry/manifest.hpp"
#include "registry/token.hpp"

#include "support/e2e_env.hpp"
#include "support/run_coro.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

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

// curl against the e2e registry and token server, trusting the e2e CA; -K file carries the Basic
// credentials so they appear in no command line or test output.
struct e2e_curl
{
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("iw-registry-e2e-curl-" + nonce());
    e2e_curl()
    {
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "auth") << "user = \"" << env().at("REGISTRY_USER") << ":" << env().at("REGISTRY_PASSWORD")
                                    << "\"\n";
    }
    ~e2e_curl() { std::filesystem::remove_all(dir); }
    std::string base() const { return "curl -sS --fail-with-body --cacert " + quote(env().at("REGISTRY_CA")) + " "; }

    // A token with push and pull on repository, asked with the test user's Basic credentials.
    std::string push_token(const std::string& repository) const
    {
        auto body = sh(base() + "-K " + quote((dir / "auth").string()) + " " +
                       quote(env().at("TOKEN_REALM") + "?service=" + env().at("TOKEN_SERVICE") +
                             "&scope=repository:" + repository + ":push,pull"));
        auto tok = parse_token_response(body);
        REQUIRE_MESSAGE(tok.has_value(), tok.error().message);
        return tok->value;
    }
};

// This process's established TCP connections to `port` (from /proc/net/tcp{,6} and /proc/self/fd).
int established_to(unsigned port)
{
    namespace fs = std::filesystem;
    std::set<std::string> mine;
    for (const auto& e : fs::directory_iterator("/proc/self/fd"))
    {
        std::error_code ec;
        auto target = fs::read_symlink(e.path(), ec).string();
        if (!ec && target.starts_with("socket:["))
            mine.insert(target.substr(8, target.size() - 9));
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04X", port);
    int n = 0;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"})
    {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line))
        {
            std::istringstream f(line);
            std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
            f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
            if (state == "01" && remote.ends_with(std::string(":") + hex) && mine.count(inode))
                ++n;
        }
    }
    return n;
}

std::string manifest_url(const std::string& repository, const std::string& reference)
{
    return "https://" + env().at("REGISTRY") + "/v2/" + repository + "/manifests/" + reference;
}

}  // namespace

TEST_CASE("e2e registry: resolve returns exactly the digest docker push printed, and follows the tag")
{
    std::string tag = "e2e-" + nonce();
    auto pushed = push_new_image("test/registry-client:" + tag);

    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            // Anonymous: the token server grants pull to anyone.
            auto anon = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
            auto d = co_await anon->resolve(e2e_ref("test/registry-client", tag), "linux/amd64");
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(d->digest == pushed);
            CHECK(d->effective == pushed);  // a single-platform manifest is its own child

            // With credentials (Basic on the token request).
            auto authed = make_client(
                ioc.get_executor(),
                settings_with(env().at("REGISTRY_CA"),
                              credentials{env().at("REGISTRY_USER"), env().at("REGISTRY_PASSWORD"), "e2e env"}));
            d = co_await authed->resolve(e2e_ref("test/registry-client", tag), "linux/amd64");
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(d->digest == pushed);

            // By digest.
            image_ref by_digest = e2e_ref("test/registry-client", "");
            by_digest.digest = pushed;
            d = co_await anon->resolve(by_digest, "linux/amd64");
            REQUIRE_MESSAGE(d.has_value(), d.error().message);
            CHECK(d->digest == pushed);
        },
        60s);

    // The tag moves; the same client (warm token) sees the new digest.
    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            auto c = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
            auto before = co_await c->resolve(e2e_ref("test/registry-client", tag), "linux/amd64");
            REQUIRE_MESSAGE(before.has_value(), before.error().message);
            CHECK(before->digest == pushed);
            auto moved = push_new_image("test/registry-client:" + tag);
            REQUIRE(moved != pushed);
            auto after = co_await c->resolve(e2e_ref("test/registry-client", tag), "linux/amd64");
            REQUIRE_MESSAGE(after.has_value(), after.error().message);
            CHECK(after->digest == moved);
        },
        60s);
}

TEST_CASE("e2e registry: a wrong CA file is unreachable with certificate verify failed")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto c = make_client(ioc.get_executor(), settings_with(other_ca));
        auto d = co_await c->resolve(e2e_ref("test/registry-client", "latest"), "linux/amd64");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);
        MESSAGE(d.error().message);

        // The system CAs alone do not trust the test registry either.
        auto system_only = make_client(ioc.get_executor(), settings_with(""));
        d = co_await system_only->resolve(e2e_ref("test/registry-client", "latest"), "linux/amd64");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unreachable);
        CHECK(d.error().message.find("certificate verify failed") != std::string::npos);
    });
}

TEST_CASE("e2e registry: a missing tag is not_found, a wrong password unauthorized")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        auto c = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
        auto d = co_await c->resolve(e2e_ref("test/registry-client", "no-such-tag-" + nonce()), "linux/amd64");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::not_found);
        CHECK(d.error().message.starts_with("manifest unknown: " + env().at("REGISTRY") + "/test/registry-client:"));

        auto wrong = make_client(ioc.get_executor(),
                                 settings_with(env().at("REGISTRY_CA"),
                                               credentials{env().at("REGISTRY_USER"), "wrong-password", "e2e env"}));
        d = co_await wrong->resolve(e2e_ref("test/registry-client", "latest"), "linux/amd64");
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().code == errc::unauthorized);
        CHECK(d.error().message.starts_with(env().at("REGISTRY") + " refused credentials for test/registry-client: "));
        CHECK(d.error().message.find("wrong-password") == std::string::npos);
        MESSAGE(d.error().message);
    });
}

TEST_CASE("e2e registry: a tag that is an OCI index resolves to the index digest and the platform child")
{
    namespace fs = std::filesystem;
    const std::string repo = "test/registry-client";
    std::string base_tag = "e2e-base-" + nonce();
    std::string index_tag = "e2e-index-" + nonce();
    auto pushed = push_new_image(repo + ":" + base_tag);

    e2e_curl curl;
    auto token = curl.push_token(repo);
    auto bearer = quote("Authorization: Bearer " + token);

    // The pushed manifest's media type and size, for the index's descriptors.
    auto manifest_file = (curl.dir / "manifest.json").string();
    auto media_type = sh(curl.base() + "-H " + bearer + " -H " + quote("Accept: " + std::string(manifest_accept)) +
                         " -o " + quote(manifest_file) + " -w '%{content_type}' " + quote(manifest_url(repo, pushed)));
    auto size = fs::file_size(manifest_file);
    std::ifstream in(manifest_file, std::ios::binary);
    std::string manifest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(content_digest(manifest) == pushed);

    // Both platforms point at the same image manifest: the registry only needs it to exist.
    auto descriptor = [&](const std::string& arch) {
        return R"({"mediaType":")" + media_type + R"(","digest":")" + pushed + R"(","size":)" + std::to_string(size) +
               R"(,"platform":{"architecture":")" + arch + R"(","os":"linux"}})";
    };
    std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                        descriptor("amd64") + "," + descriptor("arm64") + "]}";
    auto index_file = (curl.dir / "index.json").string();
    std::ofstream(index_file, std::ios::binary) << index;
    auto put = sh(curl.base() + "-X PUT -H " + bearer +
                  " -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @" + quote(index_file) +
                  " -D - -o /dev/null " + quote(manifest_url(repo, index_tag)));
    auto index_digest = content_digest(index).value();
    {
        std::smatch m;
        INFO("PUT answer: " << put);
        REQUIRE(std::regex_search(put, m, std::regex("[Dd]ocker-[Cc]ontent-[Dd]igest: (sha256:[0-9a-f]{64})")));
        REQUIRE(m[1] == index_digest);
    }

    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            auto c = make_client(ioc.get_executor(), settings_with(env().at("REGISTRY_CA")));
            auto r = co_await c->resolve(e2e_ref(repo, index_tag), "linux/amd64");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
            CHECK(r->digest == index_digest);
            CHECK(r->effective == pushed);
            CHECK(r->media_type == "application/vnd.oci.image.index.v1+json");

            r = co_await c->resolve(e2e_ref(repo, index_tag), "linux/arm64/v8");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
            CHECK(r->digest == index_digest);
            CHECK(r->effective == pushed);

            r = co_await c->resolve(e2e_ref(repo, index_tag), "linux/s390x");
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == errc::not_found);
            CHECK(r.error().message.ends_with("no manifest for linux/s390x (the index has linux/amd64, linux/arm64)"));
            MESSAGE(r.error().message);

            // The plain tag next to it: its own digest, and the same for every platform.
            r = co_await c->resolve(e2e_ref(repo, base_tag), "linux/arm64");
            REQUIRE_MESSAGE(r.has_value(), r.error().message);
            CHECK(r->digest == pushed);
            CHECK(r->effective == pushed);
            CHECK(r->media_type == media_type);
        },
        60s);
}

TEST_CASE("e2e registry: checks reuse one TLS connection to the registry and one to the token server")
{
    std::string tag = "e2e-reuse-" + nonce();
    auto pushed = push_new_image("test/registry-client:" + tag);
    test::run_coro(
        [&](asio::io_context& ioc) -> awaitable<void> {
            std::map<std::string, int> by_host;
            auto s = settings_with(env().at("REGISTRY_CA"));
            s.on_request = [&by_host](std::string_view host, std::string_view method, unsigned status) {
                ++by_host[std::string(host) + " " + std::string(method) + " " + std::to_string(status)];
            };
            auto c = make_client(ioc.get_executor(), s);
            for (int i = 0; i < 5; ++i)
            {
                auto r = co_await c->resolve(e2e_ref("test/registry-client", tag), "");
                REQUIRE_MESSAGE(r.has_value(), r.error().message);
                CHECK(r->digest == pushed);
            }
            // One challenge, one token, then the cached token on every HEAD.
            std::string realm_host = env().at("TOKEN_REALM").substr(8, env().at("TOKEN_REALM").find('/', 8) - 8);
            CHECK(by_host[env().at("REGISTRY") + " HEAD 401"] == 1);
            CHECK(by_host[realm_host + " GET 200"] == 1);
            CHECK(by_host[env().at("REGISTRY") + " HEAD 200"] == 5);
            auto port_of = [](const std::string& host_port) {
                return static_cast<unsigned>(std::stoul(host_port.substr(host_port.rfind(':') + 1)));
            };
            CHECK(established_to(port_of(env().at("REGISTRY"))) == 1);
            CHECK(established_to(port_of(realm_host)) == 1);
        },
        60s);
}
