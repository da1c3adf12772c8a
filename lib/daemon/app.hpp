#pragma once
// The imagewatch process: CLI, config, wiring of docker client, refresh service and admin server,
// signals (SIGTERM/SIGINT graceful stop, SIGHUP reload). app/main.cpp only calls run_main.
#include <string>
#include <vector>

namespace imagewatch::daemon {

// Returns the process exit code (docs/cli.md: 0 ok, 1 something failed, 2 usage or config error).
int run_main(const std::vector<std::string>& args);

}  // namespace imagewatch::daemon
