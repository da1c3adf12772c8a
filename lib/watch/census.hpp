#pragma once
// How many containers each runtime selects right now (the "containers" of /admin/status), whether
// or not the watcher runs. I/O: one container list per count.
#include "config/config.hpp"
#include "core/awaitable.hpp"
#include "docker/api.hpp"

#include <map>
#include <string>
#include <vector>

namespace imagewatch::watch {

class container_census
{
public:
    // Runtime name -> selected containers (running or stopped), for every runtime given.
    // A container's Config.Image never changes, so each container is inspected at most once, and
    // only when the list shows an image ID instead of the name it was created from.
    awaitable<result<std::map<std::string, int>>> count(docker::api& docker, std::vector<config::runtime> runtimes);

private:
    std::map<std::string, std::string> config_image_;  // container ID -> Config.Image
};

}  // namespace imagewatch::watch
