#include "config/diff.hpp"

namespace imagewatch::config {

bool change::any() const
{
    return !added.empty() || !removed.empty() || !changed.empty() || !rollout_changed.empty() || reordered || watch_changed ||
           admin_listen_changed || admin_changed || docker_changed || timeouts_changed || registries_changed ||
           notify_changed || hooks_changed;
}

change diff(const config& old_cfg, const config& new_cfg)
{
    change c;
    std::vector<std::string> common_old;
    std::vector<std::string> common_new;
    for (const auto& r : new_cfg.runtimes)
    {
        const runtime* before = old_cfg.find_runtime(r.name);
        if (!before)
            c.added.push_back(r.name);
        else
        {
            common_new.push_back(r.name);
            if (before->image != r.image || before->containers != r.containers)
                c.changed.push_back(r.name);
            else if (before->rollout != r.rollout)
                c.rollout_changed.push_back(r.name);
        }
    }
    for (const auto& r : old_cfg.runtimes)
    {
        if (!new_cfg.find_runtime(r.name))
            c.removed.push_back(r.name);
        else
            common_old.push_back(r.name);
    }
    // Order matters for result arrays (SPEC §5.1), not for the watch tasks.
    c.reordered = common_old != common_new;
    c.watch_changed = old_cfg.watch != new_cfg.watch;
    c.admin_listen_changed = old_cfg.admin.listen != new_cfg.admin.listen;
    c.admin_changed = old_cfg.admin != new_cfg.admin;
    c.docker_changed = old_cfg.docker != new_cfg.docker;
    c.timeouts_changed = old_cfg.timeouts != new_cfg.timeouts;
    c.registries_changed = old_cfg.registries != new_cfg.registries || old_cfg.docker_config != new_cfg.docker_config;
    c.notify_changed = old_cfg.notify != new_cfg.notify;
    c.hooks_changed = old_cfg.hooks != new_cfg.hooks;
    return c;
}

}  // namespace imagewatch::config
