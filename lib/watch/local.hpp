#pragma once
// What the local engine runs for a runtime: its selected containers and whether they are stale
// against a remote digest (docs/watching.md "Staleness").
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "docker/api.hpp"

#include <boost/json/array.hpp>

#include <optional>
#include <string>

namespace imagewatch::watch {

// Pure: whether RepoDigests ("registry/repo@sha256:...", any number of entries, several
// registry names) holds `digest` for the image's repository. Matched by repository, any entry.
bool repo_digests_contain(const boost::json::array& repo_digests, const image_ref& image, std::string_view digest);

struct local_state
{
    int containers = 0;         // selected containers (running or stopped)
    std::optional<bool> stale;  // nullopt when there are none (or Docker could not tell)
};

// Lists and inspects the runtime's selected containers and their images. A container is current
// when its image's RepoDigests holds the remote digest or the platform child digest.
awaitable<result<local_state>> inspect_local(docker::api& docker, config::runtime rt, std::string digest,
                                             std::string effective);

}  // namespace imagewatch::watch
