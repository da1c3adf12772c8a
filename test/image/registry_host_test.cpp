#include "image/registry_host.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

TEST_CASE("same_registry: case, default port, Docker Hub aliases")
{
    CHECK(same_registry("Registry.Test:5443", "registry.test:5443"));
    CHECK(same_registry("ghcr.io:443", "ghcr.io"));
    CHECK(same_registry("GHCR.io", "ghcr.io:443"));
    CHECK(same_registry("registry-1.docker.io", "docker.io"));
    CHECK(same_registry("index.docker.io", "docker.io"));
    CHECK(same_registry("Index.Docker.IO:443", "registry-1.docker.io"));
    CHECK_FALSE(same_registry("registry.test:5443", "registry.test"));
    CHECK_FALSE(same_registry("registry.test:5443", "registry.test:5444"));
    CHECK_FALSE(same_registry("registry.test:80", "registry.test"));
    CHECK_FALSE(same_registry("ghcr.io", "docker.io"));
}

TEST_CASE("is_docker_hub: the three names, exactly")
{
    CHECK(is_docker_hub("docker.io"));
    CHECK(is_docker_hub("index.docker.io"));
    CHECK(is_docker_hub("registry-1.docker.io"));
    CHECK_FALSE(is_docker_hub("docker.io:5000"));
    CHECK_FALSE(is_docker_hub("mirror.docker.io"));
}
