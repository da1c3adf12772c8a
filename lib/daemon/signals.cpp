#include "daemon/signals.hpp"

#include <csignal>

namespace imagewatch::daemon {

awaitable<void> handle_signals(asio::signal_set& signals, signal_actions act)
{
    bool stopping = false;
    for (;;)
    {
        auto [ec, sig] = co_await signals.async_wait(nothrow_awaitable);
        if (ec)
            co_return;
        if (sig == SIGHUP)
            act.reload();
        else if (!stopping)
        {
            stopping = true;
            act.stop(sig);
        }
        else
            act.stop_now();
    }
}

}  // namespace imagewatch::daemon
