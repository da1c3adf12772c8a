#pragma once
// An in-process HTTP receiver for notifier tests: records every request and answers with a
// scripted status, or accepts and never answers ("hang") to play a stuck webhook endpoint.
// Runs on the test's io_context; Beast stays in tests, never in lib headers.
#include "core/awaitable.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <string>
#include <vector>

namespace imagewatch::test {

struct received
{
    std::string target;
    std::string content_type;
    std::string authorization;
    std::string body;
};

class receiver
{
public:
    std::vector<received> requests;
    std::vector<unsigned> statuses{200};  // answer n uses statuses[min(n, size-1)]
    bool hang = false;                    // read the request, then never answer

    explicit receiver(asio::any_io_executor ex)
        : acceptor_(ex, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))
    {}

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string url(std::string path = "/hook") const { return "http://127.0.0.1:" + std::to_string(port()) + path; }

    awaitable<void> run()
    {
        for (;;)
        {
            auto [ec, sock] = co_await acceptor_.async_accept(nothrow_awaitable);
            if (ec)
                co_return;
            asio::co_spawn(acceptor_.get_executor(), session(std::move(sock)), asio::detached);
        }
    }

private:
    awaitable<void> session(asio::ip::tcp::socket sock)
    {
        namespace http = boost::beast::http;
        boost::beast::tcp_stream stream(std::move(sock));
        boost::beast::flat_buffer buf;
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(stream, buf, req, nothrow_awaitable);
        if (ec)
            co_return;
        requests.push_back(received{std::string(req.target()), std::string(req[http::field::content_type]),
                                    std::string(req[http::field::authorization]), req.body()});
        if (hang)
        {
            asio::steady_timer forever(stream.get_executor(), asio::steady_timer::time_point::max());
            co_await forever.async_wait(nothrow_awaitable);
            co_return;
        }
        const auto i = std::min(requests.size() - 1, statuses.size() - 1);
        http::response<http::string_body> res{static_cast<http::status>(statuses[i]), 11};
        if (statuses[i] != 204)
            res.body() = "{}";
        res.prepare_payload();
        co_await http::async_write(stream, res, nothrow_awaitable);
    }

    asio::ip::tcp::acceptor acceptor_;
};

}  // namespace imagewatch::test
