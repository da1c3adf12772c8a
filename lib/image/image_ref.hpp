#pragma once
// Image references: parse and normalise like the Docker CLI does. Pure.
//
//   "nginx"                        -> docker.io/library/nginx:latest
//   "ghcr.io/org/app"              -> ghcr.io/org/app:latest
//   "localhost:5000/a/b:v1"        -> localhost:5000/a/b:v1
//   "registry.test:5443/x@sha256:…" -> digest reference (tag empty unless given too)
// A first component is a registry host when it contains '.' or ':' or is "localhost".
#include "core/error.hpp"

#include <string>
#include <string_view>

namespace imagewatch {

struct image_ref
{
    std::string registry;    // "docker.io", "ghcr.io", "registry.test:5443"
    std::string repository;  // "library/nginx", "molecule-ai/workspace-template-hermes"
    std::string tag;         // "latest" when neither tag nor digest was given
    std::string digest;      // "sha256:<64 hex>" or empty

    // Canonical form: registry/repository[:tag][@digest]. Two references name the same image
    // tag exactly when their canonical forms are equal (used for container selection).
    std::string str() const;
    // registry/repository (what RepoDigests entries start with, before '@').
    std::string name() const;
    // Host to connect to: "docker.io" maps to "registry-1.docker.io".
    std::string endpoint_host() const;

    friend bool operator==(const image_ref&, const image_ref&) = default;
};

// Fails with errc::invalid_argument and a message that quotes the input and says what is wrong
// (upper-case repository, empty component, bad tag, bad digest...).
result<image_ref> parse_image_ref(std::string_view s);

}  // namespace imagewatch
