#pragma once
// Config reload decisions: whether a trigger is worth parsing, and what a new config changes in
// the running daemon. Pure; the daemon carries the plan out.
#include "config/diff.hpp"

#include <string>
#include <string_view>

namespace imagewatch::daemon {

enum class reload_trigger
{
    file_change,  // inotify on the config file or its directory
    sighup,
};

// As logged ("trigger"): "file change" or "SIGHUP".
std::string_view trigger_name(reload_trigger t);

// File events also fire for siblings (a log file next to the config) and for our own reads: a
// file change whose bytes equal the last ones read is no reload, unless the last reload failed
// (the same bytes may now pass, an environment variable having been set). SIGHUP always reloads.
bool worth_parsing(reload_trigger t, bool last_failed, const std::string* read, std::string_view last_text);

struct reload_plan
{
    bool rebind_admin = false;         // bind the new admin.listen before anything else changes
    bool docker_host_ignored = false;  // docker.host changed: only a restart applies it
    bool set_timeouts = false;         // the Docker and registry clients take the new timeouts
    bool apply_watch = false;          // runtimes or watch.* changed: the watcher follows
};

reload_plan plan_reload(const config::change& c);

}  // namespace imagewatch::daemon
