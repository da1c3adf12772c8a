#pragma once
// An in-process HTTP(S) server on 127.0.0.1:0 for registry client tests: a Beast server coroutine
// in the test's io_context. The handler maps each request to a response, or to nullopt to hold
// the connection without answering, or to drop_connection() to close it without answering.
// Every request and every accepted connection is counted.
#include "core/awaitable.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace imagewatch::test {

namespace beast = boost::beast;
namespace http = beast::http;

class fake_registry_server
{
public:
    using request = http::request<http::string_body>;
    using response = http::response<http::string_body>;
    using handler = std::function<std::optional<response>(const request&)>;

    struct recorded
    {
        std::string method;
        std::string target;
        std::string authorization;
        std::string accept;
        std::string host;
        std::string content_type;
        std::string body;
    };

    // tls: a server context (certificate + key) for HTTPS, or nullptr for plain HTTP.
    fake_registry_server(asio::io_context& ioc, handler h, asio::ssl::context* tls = nullptr)
        : st_(std::make_shared<state>(ioc, std::move(h), tls))
    {
        asio::co_spawn(ioc, accept_loop(st_), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    }
    fake_registry_server(const fake_registry_server&) = delete;
    fake_registry_server& operator=(const fake_registry_server&) = delete;
    ~fake_registry_server() { stop(); }

    unsigned short port() const { return st_->port; }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port()); }
    std::vector<recorded>& requests() { return st_->requests; }
    // TCP connections accepted so far.
    int accepted() const { return st_->accepted; }
    // Connections open now (a client closing one shows here once the server has read its EOF).
    std::size_t open_connections() const { return st_->open.size(); }

    // Closes every open connection (as a server's idle timeout does); keeps accepting.
    void close_connections()
    {
        boost::system::error_code ec;
        for (auto* s : st_->open)
            s->close(ec);
    }

    // A handler answer meaning: close this connection without answering.
    static response drop_connection()
    {
        response res{http::status::ok, 11};
        res.set(drop_marker, "1");
        return res;
    }

    // Stops accepting and closes every open connection, so the io_context can run out of work.
    void stop()
    {
        boost::system::error_code ec;
        st_->acceptor.close(ec);
        for (auto* s : st_->open)
            s->close(ec);
    }

private:
    // Shared with the server coroutines, which may finish after the server object is gone.
    struct state
    {
        state(asio::io_context& ioc, handler h, asio::ssl::context* t)
            : acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0}),
              on_request(std::move(h)),
              tls(t),
              port(acceptor.local_endpoint().port())
        {}
        asio::ip::tcp::acceptor acceptor;
        handler on_request;
        asio::ssl::context* tls;
        unsigned short port;
        std::set<asio::ip::tcp::socket*> open;
        std::vector<recorded> requests;
        int accepted = 0;
    };
    static constexpr const char* drop_marker = "X-Fake-Drop-Connection";

    static awaitable<void> accept_loop(std::shared_ptr<state> st)
    {
        while (true)
        {
            auto [ec, sock] = co_await st->acceptor.async_accept(nothrow_awaitable);
            if (ec)
                co_return;
            ++st->accepted;
            asio::co_spawn(st->acceptor.get_executor(), session(st, std::move(sock)), asio::detached);
        }
    }

    static awaitable<void> session(std::shared_ptr<state> st, asio::ip::tcp::socket sock)
    {
        if (st->tls)
        {
            beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *st->tls);
            auto& raw = beast::get_lowest_layer(stream).socket();
            st->open.insert(&raw);
            auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow_awaitable);
            if (!ec)
                co_await serve(st, stream);
            st->open.erase(&raw);
        }
        else
        {
            beast::tcp_stream stream(std::move(sock));
            st->open.insert(&stream.socket());
            co_await serve(st, stream);
            st->open.erase(&stream.socket());
        }
    }

    template <class Stream>
    static awaitable<void> serve(std::shared_ptr<state> st, Stream& stream)
    {
        beast::flat_buffer buf;
        while (true)
        {
            request req;
            auto [ec, n] = co_await http::async_read(stream, buf, req, nothrow_awaitable);
            if (ec)
                co_return;
            st->requests.push_back({std::string(req.method_string()), std::string(req.target()),
                                    std::string(req[http::field::authorization]), std::string(req[http::field::accept]),
                                    std::string(req[http::field::host]), std::string(req[http::field::content_type]),
                                    req.body()});
            auto res = st->on_request(req);
            if (!res)
                continue;  // hold: read (and wait) until the client gives up
            if (res->count(drop_marker))
                co_return;  // the session's stream closes the connection
            res->version(11);
            auto [wec, wn] = co_await http::async_write(stream, *res, nothrow_awaitable);
            if (wec)
                co_return;
        }
    }

    std::shared_ptr<state> st_;
};

// Builders for the answers a registry gives.
inline fake_registry_server::response make_response(
    http::status status, std::initializer_list<std::pair<std::string, std::string>> fields = {}, std::string body = {})
{
    fake_registry_server::response res{status, 11};
    for (const auto& [k, v] : fields)
        res.set(k, v);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace imagewatch::test
