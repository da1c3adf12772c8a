#include "self/self.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

using namespace imagewatch;

namespace {

const std::string id_a = "3f2a9c1d0b7e4c5d8e9f00112233445566778899aabbccddeeff001122334455";
const std::string id_b = "8e41aa02c9d5ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766";
const std::string layer = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

self::file_reader files(std::map<std::string, std::string> m)
{
    return [m = std::move(m)](const std::string& path) -> std::optional<std::string> {
        auto it = m.find(path);
        if (it == m.end())
            return std::nullopt;
        return it->second;
    };
}

// A container on cgroup v2 with a private cgroup namespace (Docker's default there).
std::string mountinfo_v2(const std::string& id)
{
    return "1290 1200 0:112 / / rw,relatime master:373 - overlay overlay "
           "rw,lowerdir=/var/lib/docker/overlay2/l/AB:/var/lib/docker/overlay2/l/CD,upperdir=/var/lib/docker/"
           "overlay2/" +
           layer + "/diff,workdir=/var/lib/docker/overlay2/" + layer +
           "/work\n"
           "1291 1290 0:115 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
           "1299 1290 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n"
           "1301 1290 8:1 /var/lib/docker/containers/" +
           id +
           "/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw\n"
           "1302 1290 8:1 /var/lib/docker/containers/" +
           id +
           "/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n"
           "1303 1290 8:1 /var/lib/docker/containers/" +
           id +
           "/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw\n"
           "1210 1290 0:116 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k\n"
           "1304 1290 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw\n";
}

}  // namespace

TEST_CASE("id_from_cgroup: cgroup v1 cgroupfs and systemd drivers, v2 in the host namespace")
{
    CHECK(self::id_from_cgroup("12:pids:/docker/" + id_a + "\n11:memory:/docker/" + id_a + "\n0::/docker/" + id_a +
                               "\n") == id_a);
    CHECK(self::id_from_cgroup("1:name=systemd:/system.slice/docker-" + id_a + ".scope\n") == id_a);
    CHECK(self::id_from_cgroup("0::/system.slice/docker-" + id_a + ".scope\n") == id_a);
    CHECK(self::id_from_cgroup("0::/machine.slice/libpod-" + id_a + ".scope/container\n") == id_a);
    CHECK(self::id_from_cgroup("0::/kubepods/burstable/pod1234/" + id_a + "\n") == id_a);
    // Docker in Docker: the innermost (last) ID is ours.
    CHECK(self::id_from_cgroup("4:memory:/docker/" + id_b + "/docker/" + id_a + "\n") == id_a);
}

TEST_CASE("id_from_cgroup: nothing on a host or with a private cgroup namespace")
{
    CHECK(self::id_from_cgroup("0::/\n") == "");
    CHECK(self::id_from_cgroup("0::/system.slice/imagewatch.service\n") == "");
    CHECK(self::id_from_cgroup("4:memory:/process_api/fb90a0678228a016ec2c43be228ab841\n1:cpu:/\n0::/\n") == "");
    CHECK(self::id_from_cgroup("0::/user.slice/" + id_a + "0\n") == "");  // 65 digits: not an ID
    CHECK(self::id_from_cgroup("") == "");
    CHECK(self::id_from_cgroup("garbage without colons " + id_a) == "");
}

TEST_CASE("id_from_mountinfo: the container directory behind /etc/hostname, hosts, resolv.conf")
{
    CHECK(self::id_from_mountinfo(mountinfo_v2(id_a)) == id_a);
    // Data root on its own file system: the root field is relative to it.
    CHECK(self::id_from_mountinfo("40 30 8:2 /containers/" + id_b + "/hosts /etc/hosts rw - ext4 /dev/sdb rw\n") ==
          id_b);
    // A data root with a space in its path (escaped as \040).
    CHECK(self::id_from_mountinfo("40 30 8:2 /srv/docker\\040data/containers/" + id_b +
                                  "/hostname /etc/hostname rw - ext4 /dev/sdb rw\n") == id_b);
    // Podman.
    CHECK(self::id_from_mountinfo("50 40 0:44 /containers/storage/overlay-containers/" + id_a +
                                  "/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw\n") == id_a);
}

TEST_CASE("id_from_mountinfo: other mount points never count")
{
    // On a host, dockerd's shm mounts and overlay layers name container and layer directories.
    const std::string host = "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                             "300 25 0:60 / /var/lib/docker/containers/" +
                             id_a +
                             "/mounts/shm rw,nosuid - tmpfs shm rw\n"
                             "301 25 0:61 / /var/lib/docker/overlay2/" +
                             layer + "/merged rw - overlay overlay rw\n" +
                             "26 25 8:1 /etc/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n";
    CHECK(self::id_from_mountinfo(host) == "");
    CHECK(self::id_from_mountinfo("") == "");
    CHECK(self::id_from_mountinfo("1 2 3\n") == "");
    // The file is named by its directory, not by the file name itself.
    CHECK(self::id_from_mountinfo("40 30 8:2 /x/" + id_a + " /etc/hosts rw - ext4 /dev/sdb rw\n") == "");
}

TEST_CASE("id_from_hostname: only a Docker short ID")
{
    CHECK(self::id_from_hostname("3f2a9c1d0b7e\n") == "3f2a9c1d0b7e");
    CHECK(self::id_from_hostname("imagewatch") == "");
    CHECK(self::id_from_hostname("3F2A9C1D0B7E") == "");
    CHECK(self::id_from_hostname("3f2a9c1d0b7") == "");
    CHECK(self::id_from_hostname("") == "");
}

TEST_CASE("detect: cgroup first, then mountinfo, then the hostname inside a container only")
{
    CHECK(self::detect(
              files({{"/proc/self/cgroup", "0::/docker/" + id_a + "\n"}, {"/proc/self/mountinfo", mountinfo_v2(id_b)}}))
              .id == id_a);
    auto m = self::detect(files({{"/proc/self/cgroup", "0::/\n"}, {"/proc/self/mountinfo", mountinfo_v2(id_b)}}));
    CHECK(m.id == id_b);
    CHECK(m.source == "mountinfo");
    auto h = self::detect(files({{"/proc/self/cgroup", "0::/\n"},
                                 {"/proc/self/mountinfo", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"},
                                 {"/.dockerenv", ""},
                                 {"/proc/sys/kernel/hostname", "3f2a9c1d0b7e\n"}}));
    CHECK(h.id == "3f2a9c1d0b7e");
    CHECK(h.source == "hostname");
    // Same hostname on a host (no /.dockerenv): not trusted.
    CHECK(self::detect(files({{"/proc/self/cgroup", "0::/\n"}, {"/proc/sys/kernel/hostname", "3f2a9c1d0b7e\n"}})).id ==
          "");
    auto none = self::detect(files({}));
    CHECK(none.id == "");
    CHECK(none.source == "");
}

// The real reader on the real /proc: the files come back whole (they report size 0, so a reader
// that trusts st_size returns nothing), and detect() answers what the parsers find in them.
TEST_CASE("detect on this machine reads /proc and agrees with the parsers")
{
    const auto read = self::real_files();
    const auto cgroup = read("/proc/self/cgroup");
    const auto mountinfo = read("/proc/self/mountinfo");
    REQUIRE(cgroup.has_value());
    REQUIRE(mountinfo.has_value());
    CHECK(cgroup->find(":/") != std::string::npos);        // a cgroup line ("0::/..." in v2)
    CHECK(mountinfo->find(" / / ") != std::string::npos);  // and a root mount

    const auto id = self::detect();
    CHECK(id.id.empty() == id.source.empty());
    CHECK(std::all_of(id.id.begin(), id.id.end(),
                      [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
    if (auto c = self::id_from_cgroup(*cgroup); !c.empty())
    {
        CHECK(id.id == c);
        CHECK(id.source == "cgroup");
    }
    else if (auto m = self::id_from_mountinfo(*mountinfo); !m.empty())
    {
        CHECK(id.id == m);
        CHECK(id.source == "mountinfo");
    }
    else
    {
        CHECK((id.source.empty() || id.source == "hostname"));
        CHECK((id.id.empty() || id.id.size() == 12));
    }
}

TEST_CASE("is_self: full or short IDs, at least 12 digits")
{
    CHECK(self::is_self(id_a, id_a));
    CHECK(self::is_self(id_a.substr(0, 12), id_a));
    CHECK(self::is_self(id_a, id_a.substr(0, 12)));
    CHECK_FALSE(self::is_self(id_a, id_b));
    CHECK_FALSE(self::is_self(id_a.substr(0, 11), id_a));
    CHECK_FALSE(self::is_self("", id_a));
    CHECK_FALSE(self::is_self(id_a, ""));
}
