#include "docker/unreachable.hpp"

#include <doctest/doctest.h>

#include <cerrno>

using imagewatch::docker::unreachable_message;

TEST_CASE("unreachable_message: says what to do for each cause")
{
    CHECK(unreachable_message("unix:///run/docker.sock", ENOENT, "No such file or directory") ==
          "cannot reach the Docker daemon at unix:///run/docker.sock: no such socket; start dockerd, or set "
          "docker.host or DOCKER_HOST to the Engine's socket");
    CHECK(unreachable_message("unix:///var/run/docker.sock", EACCES, "Permission denied") ==
          "cannot reach the Docker daemon at unix:///var/run/docker.sock: permission denied; run imagewatch as "
          "root or as a member of the socket's group (usually docker: usermod -aG docker USER), or set "
          "docker.host or DOCKER_HOST");
    CHECK(unreachable_message("unix:///var/run/docker.sock", ECONNREFUSED, "Connection refused") ==
          "cannot reach the Docker daemon at unix:///var/run/docker.sock: connection refused; start dockerd, or "
          "set docker.host or DOCKER_HOST to where it listens");
    CHECK(unreachable_message("tcp://127.0.0.1:2375", ECONNREFUSED, "Connection refused") ==
          "cannot reach the Docker daemon at tcp://127.0.0.1:2375: connection refused; start dockerd, or set "
          "docker.host or DOCKER_HOST to where it listens");
    // A timeout has no errno, and a missing file means nothing for TCP: the cause as the caller said it.
    CHECK(unreachable_message("tcp://docker:2375", 0, "no connection within 5s") ==
          "cannot reach the Docker daemon at tcp://docker:2375: no connection within 5s (is dockerd running? is "
          "DOCKER_HOST right?)");
}
