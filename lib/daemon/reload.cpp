#include "daemon/reload.hpp"

namespace imagewatch::daemon {

std::string_view trigger_name(reload_trigger t)
{
    switch (t)
    {
    case reload_trigger::file_change: return "file change";
    case reload_trigger::sighup: return "SIGHUP";
    }
    return "unknown";
}

bool worth_parsing(reload_trigger t, bool last_failed, const std::string* read, std::string_view last_text)
{
    return t != reload_trigger::file_change || last_failed || !read || *read != last_text;
}

reload_plan plan_reload(const config::change& c)
{
    reload_plan p;
    p.rebind_admin = c.admin_listen_changed;
    p.docker_host_ignored = c.docker_host_changed;
    p.set_timeouts = c.timeouts_changed;
    p.apply_watch = c.runtimes_changed() || c.watch_changed;
    return p;
}

}  // namespace imagewatch::daemon
