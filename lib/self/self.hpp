#pragma once
// Self-container detection: the ID of the Docker container this process runs in, so that a
// refresh never replaces imagewatch's own container (which would kill the refresh half-way).
// Pure parsers over /proc text, plus detect(), which reads the files through an injected reader.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::self {

// From /proc/self/cgroup text (cgroup v1, or v2 in the host's cgroup namespace): the last
// 64-hex-digit run of the first path that has one, as in "/docker/<id>",
// "/system.slice/docker-<id>.scope", "/kubepods/.../<id>", "/machine.slice/libpod-<id>.scope".
// "" when none (a private cgroup namespace shows only "0::/").
std::string id_from_cgroup(std::string_view text);

// From /proc/self/mountinfo text: the container directory's ID in the source of the bind mount at
// /etc/hostname, /etc/hosts or /etc/resolv.conf ("/var/lib/docker/containers/<id>/hostname"),
// which Docker (and Podman: ".../overlay-containers/<id>/userdata/hostname") set up for every
// container whatever its cgroup namespace. Only those mount points count: on a host, the shm
// mounts of other containers also name their container directories. "" when none.
std::string id_from_mountinfo(std::string_view text);

// The hostname, when it is a Docker default hostname (the 12-hex-digit short ID). "" otherwise.
std::string id_from_hostname(std::string_view hostname);

struct identity
{
    std::string id;      // 64 hex digits, or the 12-digit short ID from the hostname; "" = none found
    std::string source;  // "cgroup", "mountinfo", "hostname", or ""
};

// Reads a whole file; nullopt when it cannot be read.
using file_reader = std::function<std::optional<std::string>(const std::string& path)>;
file_reader real_files();

// /proc/self/cgroup, then /proc/self/mountinfo, then the hostname (/proc/sys/kernel/hostname,
// else /etc/hostname), the latter only inside a container (/.dockerenv or /run/.containerenv
// exists), since a host may have any name. Never fails: {"", ""} when nothing matched.
identity detect(const file_reader& read = real_files());

// Whether container_id (full or short) names the container self_id (full or short) names: one is
// a prefix of the other and the shorter has at least 12 digits. False when either is empty.
bool is_self(std::string_view self_id, std::string_view container_id);

}  // namespace imagewatch::self
