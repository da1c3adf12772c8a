#pragma once
// The admin server in use, and those a reload of admin.listen replaced: a replaced server stops
// accepting at once but lives on while its run() or a session (a refresh) still uses it, and is
// dropped once finished, so reloads do not pile servers up.
#include "admin/server.hpp"

#include <memory>
#include <vector>

namespace imagewatch::daemon {

class admin_listeners
{
public:
    admin::server* current() const { return current_.get(); }
    // next becomes current; the previous one stops accepting.
    void replace(std::unique_ptr<admin::server> next);
    // Shutdown: every server stops accepting and ends its sessions.
    void close_all();
    // Every server's run() and sessions have ended (after close_all: nothing of them is left).
    bool finished() const;
    // Replaced servers still kept (finished ones are dropped first).
    std::size_t retired();

private:
    void prune();
    std::unique_ptr<admin::server> current_;
    std::vector<std::unique_ptr<admin::server>> retired_;
};

}  // namespace imagewatch::daemon
