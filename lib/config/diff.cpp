#include "config/diff.hpp"

#include <string_view>
#include <unordered_map>

namespace imagewatch::config {

bool change::runtimes_changed() const
{
    return !added.empty() || !removed.empty() || !changed.empty() || !rollout_changed.empty() || reordered;
}

bool change::any() const
{
    return runtimes_changed() || watch_changed || admin_listen_changed || admin_changed || docker_changed ||
           timeouts_changed || registries_changed || notify_changed || hooks_changed;
}

change diff_runtimes(const std::vector<runtime>& old_runtimes, const std::vector<runtime>& new_runtimes)
{
    // By name, in one pass each way: a reload of a thousand runtimes stays linear.
    const auto index = [](const std::vector<runtime>& rts) {
        std::unordered_map<std::string_view, const runtime*> by_name;
        for (const auto& r : rts)
            by_name.emplace(r.name, &r);
        return by_name;
    };
    const auto old_by_name = index(old_runtimes);
    const auto new_by_name = index(new_runtimes);
    change c;
    std::vector<std::string_view> common_old;
    std::vector<std::string_view> common_new;
    for (const auto& r : new_runtimes)
    {
        auto before = old_by_name.find(r.name);
        if (before == old_by_name.end())
            c.added.push_back(r.name);
        else
        {
            common_new.push_back(r.name);
            if (before->second->image != r.image || before->second->containers != r.containers)
                c.changed.push_back(r.name);
            else if (before->second->rollout != r.rollout)
                c.rollout_changed.push_back(r.name);
        }
    }
    for (const auto& r : old_runtimes)
    {
        if (!new_by_name.contains(r.name))
            c.removed.push_back(r.name);
        else
            common_old.push_back(r.name);
    }
    // Order matters for result arrays (config order), not for the watch tasks.
    c.reordered = common_old != common_new;
    return c;
}

change diff(const config& old_cfg, const config& new_cfg)
{
    change c = diff_runtimes(old_cfg.runtimes, new_cfg.runtimes);
    c.watch_changed = old_cfg.watch != new_cfg.watch;
    // "unix:/x" and "unix:///x" name the same socket: re-binding would meet our own live socket.
    c.admin_listen_changed = !same_socket(old_cfg.admin.listen, new_cfg.admin.listen);
    c.admin_changed = old_cfg.admin != new_cfg.admin;
    c.docker_changed = old_cfg.docker != new_cfg.docker;
    c.docker_host_changed = !same_socket(old_cfg.docker.host, new_cfg.docker.host);
    c.timeouts_changed = old_cfg.timeouts != new_cfg.timeouts;
    c.registries_changed = old_cfg.registries != new_cfg.registries || old_cfg.docker_config != new_cfg.docker_config;
    c.notify_changed = old_cfg.notify != new_cfg.notify;
    c.hooks_changed = old_cfg.hooks != new_cfg.hooks;
    return c;
}

}  // namespace imagewatch::config
