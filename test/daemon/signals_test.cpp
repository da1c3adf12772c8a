#include "daemon/signals.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <doctest/doctest.h>

#include <csignal>

using namespace imagewatch;
using namespace imagewatch::daemon;

TEST_CASE("SIGHUP reloads, the first SIGTERM stops gracefully, the second at once; cancel ends the wait")
{
    asio::io_context ioc{1};
    asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    int reloads = 0;
    std::vector<int> stops;
    int stop_now = 0;
    bool ended = false;
    asio::co_spawn(ioc,
                   handle_signals(signals, {[&] {
                                                // A second reload, then the stop signals.
                                                std::raise(++reloads == 1 ? SIGHUP : SIGTERM);
                                            },
                                            [&](int sig) {
                                                stops.push_back(sig);
                                                std::raise(SIGINT);
                                            },
                                            [&] {
                                                ++stop_now;
                                                // As shutdown does: later, while the loop waits for the next signal.
                                                asio::post(ioc, [&] { signals.cancel(); });
                                            }}),
                   [&](std::exception_ptr) { ended = true; });
    std::raise(SIGHUP);
    ioc.run_for(std::chrono::seconds(5));
    CHECK(ended);
    CHECK(reloads == 2);
    CHECK(stops == std::vector<int>{SIGTERM});
    CHECK(stop_now == 1);
}
