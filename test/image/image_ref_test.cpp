#include "image/image_ref.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace imagewatch;

namespace {

const std::string hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct good_case
{
    std::string input;
    std::string registry;
    std::string repository;
    std::string tag;
    std::string digest;
    std::string canonical;
};

}  // namespace

TEST_CASE("parse_image_ref normalises like the Docker CLI")
{
    const good_case cases[] = {
        {"nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest"},
        {"nginx:1.25", "docker.io", "library/nginx", "1.25", "", "docker.io/library/nginx:1.25"},
        {"library/nginx:1.2", "docker.io", "library/nginx", "1.2", "", "docker.io/library/nginx:1.2"},
        {"docker.io/nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest"},
        {"index.docker.io/library/nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest"},
        {"index.docker.io/nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest"},
        {"bitnami/redis:7", "docker.io", "bitnami/redis", "7", "", "docker.io/bitnami/redis:7"},
        {"localhost:5000/a/b", "localhost:5000", "a/b", "latest", "", "localhost:5000/a/b:latest"},
        {"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"},
        {"localhost:5000", "docker.io", "library/localhost", "5000", "", "docker.io/library/localhost:5000"},
        {"registry.test:5443/test/app:v1", "registry.test:5443", "test/app", "v1", "",
         "registry.test:5443/test/app:v1"},
        {"127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", "", "127.0.0.1:5000/x:latest"},
        {"[::1]:5000/x:y", "[::1]:5000", "x", "y", "", "[::1]:5000/x:y"},
        {"ghcr.io/molecule-ai/workspace-template-claude-code:latest", "ghcr.io",
         "molecule-ai/workspace-template-claude-code", "latest", "",
         "ghcr.io/molecule-ai/workspace-template-claude-code:latest"},
        {"ghcr.io/org/app", "ghcr.io", "org/app", "latest", "", "ghcr.io/org/app:latest"},
        {"a/b__c/d.e/f--g_h:_Tag.1-x", "docker.io", "a/b__c/d.e/f--g_h", "_Tag.1-x", "",
         "docker.io/a/b__c/d.e/f--g_h:_Tag.1-x"},
        {"nginx@sha256:" + hex64, "docker.io", "library/nginx", "", "sha256:" + hex64,
         "docker.io/library/nginx@sha256:" + hex64},
        {"ghcr.io/org/app:v2@sha256:" + hex64, "ghcr.io", "org/app", "v2", "sha256:" + hex64,
         "ghcr.io/org/app:v2@sha256:" + hex64},
        {"localhost:5000/app@sha256:" + hex64, "localhost:5000", "app", "", "sha256:" + hex64,
         "localhost:5000/app@sha256:" + hex64},
    };
    for (const auto& c : cases)
    {
        CAPTURE(c.input);
        auto r = parse_image_ref(c.input);
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->registry == c.registry);
        CHECK(r->repository == c.repository);
        CHECK(r->tag == c.tag);
        CHECK(r->digest == c.digest);
        CHECK(r->str() == c.canonical);
        // The canonical form parses back to the same reference.
        CHECK(parse_image_ref(r->str()).value() == *r);
    }
}

TEST_CASE("parse_image_ref rejects bad input with a message that quotes it and says why")
{
    struct bad_case
    {
        std::string input;
        std::string why;
    };
    const bad_case cases[] = {
        {"", "empty"},
        {"Nginx", "lower-case"},
        {"ghcr.io/Org/app", "lower-case"},
        {"a//b", "empty path component"},
        {"a/b/", "empty path component"},
        {"ghcr.io/", "missing repository name"},
        {"nginx:", "empty tag"},
        {"nginx:.bad", "invalid tag"},
        {"nginx:" + std::string(129, 'a'), "invalid tag"},
        {"nginx@sha256:abc", "digest"},
        {"nginx@sha256:" + std::string(64, 'A'), "digest"},
        {"nginx@md5:" + hex64.substr(0, 32), "digest"},
        {"nginx@", "digest"},
        {" nginx", "whitespace"},
        {"nginx latest", "whitespace"},
        {"nginx\t", "whitespace"},
        {"a:b:c", "invalid path component"},
        {"-a", "invalid path component"},
        {"a_", "invalid path component"},
        {"a___b", "invalid path component"},
        {"a..b", "invalid path component"},
        {"reg.io:0/app", "invalid port"},
        {"reg.io:99999/app", "invalid port"},
        {"reg.io:/app", "empty port"},
        {"bad_host.io/app", "not a valid host name"},
        {"-x.io/app", "not a valid host name"},
        {"[::1/app", "IPv6"},
        {":tag", "missing repository name"},
        {hex64, "image ID"},
    };
    for (const auto& c : cases)
    {
        CAPTURE(c.input);
        auto r = parse_image_ref(c.input);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_argument);
        const auto& msg = r.error().message;
        CAPTURE(msg);
        CHECK(msg.find("\"" + c.input + "\"") != std::string::npos);
        CHECK(msg.find(c.why) != std::string::npos);
    }
}

TEST_CASE("name and endpoint_host")
{
    auto hub = parse_image_ref("nginx:1").value();
    CHECK(hub.name() == "docker.io/library/nginx");
    CHECK(hub.endpoint_host() == "registry-1.docker.io");

    auto ghcr = parse_image_ref("ghcr.io/molecule-ai/workspace-template-hermes:latest").value();
    CHECK(ghcr.name() == "ghcr.io/molecule-ai/workspace-template-hermes");
    CHECK(ghcr.endpoint_host() == "ghcr.io");

    auto local = parse_image_ref("registry.test:5443/test/app:v1").value();
    CHECK(local.endpoint_host() == "registry.test:5443");
}

TEST_CASE("equal canonical forms mean the same tag; substrings do not match")
{
    CHECK(parse_image_ref("nginx").value() == parse_image_ref("docker.io/library/nginx:latest").value());
    CHECK(parse_image_ref("ghcr.io/org/app").value() != parse_image_ref("ghcr.io/org/app-extra").value());
    CHECK(parse_image_ref("ghcr.io/org/app").value() != parse_image_ref("ghcr.io/org/app:v1").value());
}
