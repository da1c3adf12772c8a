#pragma once
// Process signals: SIGHUP reloads the config; SIGTERM or SIGINT asks for a graceful stop, and a
// second one for an immediate one (a stop that hangs on a stuck swap must still be ended).
#include "core/awaitable.hpp"

#include <boost/asio/signal_set.hpp>

#include <functional>

namespace imagewatch::daemon {

struct signal_actions
{
    std::function<void()> reload;
    std::function<void(int sig)> stop;  // the first SIGTERM/SIGINT
    std::function<void()> stop_now;     // the second
};

// Waits on `signals` (which should hold SIGINT, SIGTERM, SIGHUP) until it is cancelled.
awaitable<void> handle_signals(asio::signal_set& signals, signal_actions act);

}  // namespace imagewatch::daemon
