#pragma once
// Runs a coroutine to completion on a private io_context, failing the test if it does not finish
// within `limit` (catches hung coroutines). Exceptions from the coroutine are rethrown.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>

namespace imagewatch::test {

template <class F>
void run_coro(F make_coro, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    boost::asio::io_context ioc{1};
    bool done = false;
    std::exception_ptr failure;
    boost::asio::co_spawn(ioc, make_coro(ioc), [&](std::exception_ptr e) {
        done = true;
        failure = e;
        ioc.stop();  // background tasks the test started (servers, watchers) end with the context
    });
    ioc.run_for(limit);
    if (failure)
        std::rethrow_exception(failure);
    if (!done)
        throw std::runtime_error("coroutine did not finish within the test limit");
}

}  // namespace imagewatch::test
