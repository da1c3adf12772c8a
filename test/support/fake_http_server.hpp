#pragma once
// One in-process HTTP/1.1 server for the io tests (registry, Docker daemon, webhook receiver), run
// by the test's io_context. It listens on loopback TCP (127.0.0.1 or ::1, port 0, optionally TLS
// with the test certificates in test/data/registry/tls) or on a Unix socket path, records every
// request and hands it to a handler. Faults are scripted in the handler: hold a request without
// answering, close the connection without answering, or write raw bytes (chunk boundaries,
// truncated answers, a stream that stalls). Beast and OpenSSL stay in the .cpp.
#include "core/awaitable.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imagewatch::test {

// Header fields in the order given; names compare without regard to case.
struct http_fields
{
    std::vector<std::pair<std::string, std::string>> list;

    // The first value of `name`, or "" when absent.
    std::string operator[](std::string_view name) const;
    bool has(std::string_view name) const;
    // Replaces every field `name` with one of this value.
    void set(std::string name, std::string value);
};

// Where and how a fake_http_server listens.
struct fake_http_server_options
{
    std::string address = "127.0.0.1";  // a loopback address: "127.0.0.1" or "::1"
    std::string unix_path;              // when set: listen on this Unix socket (removed first) instead
    bool tls = false;                   // HTTPS with test/data/registry/tls/server.{crt,key}
    static fake_http_server_options https()
    {
        fake_http_server_options o;
        o.tls = true;
        return o;
    }
    static fake_http_server_options unix_socket(std::string path)
    {
        fake_http_server_options o;
        o.unix_path = std::move(path);
        return o;
    }
};

class fake_http_server
{
public:
    struct request
    {
        std::string method;  // "GET", "HEAD", ...
        std::string target;
        http_fields fields;
        std::string body;

        std::string operator[](std::string_view name) const { return fields[name]; }
        bool has(std::string_view name) const { return fields.has(name); }
    };

    struct response
    {
        unsigned status = 200;
        std::string reason;  // the reason phrase; empty: the standard one for the status
        http_fields fields;
        std::string body;
        // Content-Length to declare when it is not the body's size (a HEAD answer announcing its body).
        std::optional<std::size_t> content_length;
        // Close the connection after this answer (else it stays open for the next request).
        bool close = false;
        // Close the connection without answering at all.
        bool drop = false;

        response& set(std::string name, std::string value)
        {
            fields.set(std::move(name), std::move(value));
            return *this;
        }
    };

    // A handler answer meaning: close this connection without answering.
    static response drop_connection()
    {
        response r;
        r.drop = true;
        return r;
    }

    // The answering side of one request, for coroutine handlers.
    class exchange
    {
    public:
        // Writes a whole response; false when the connection is gone.
        virtual awaitable<bool> send(const response& r) = 0;
        // Writes bytes as they are (a hand-made head, one chunk, half a body); false when the connection is gone.
        virtual awaitable<bool> write(std::string bytes) = 0;
        // Closes the connection once the handler returns.
        virtual void close() = 0;

    protected:
        virtual ~exchange() = default;
    };

    // Maps a request to its answer; nullopt holds the request unanswered (the connection stays
    // open until the client or stop() closes it).
    using handler = std::function<std::optional<response>(const request&)>;
    // Answers through the exchange, at its own pace; returning without answering holds the request.
    using coro_handler = std::function<awaitable<void>(const request&, exchange&)>;

    using options = fake_http_server_options;

    fake_http_server(asio::io_context& ioc, handler h, options o = {});
    fake_http_server(asio::io_context& ioc, coro_handler h, options o = {});
    fake_http_server(const fake_http_server&) = delete;
    fake_http_server& operator=(const fake_http_server&) = delete;
    ~fake_http_server();  // stop(), and the Unix socket file is removed

    unsigned short port() const;
    std::string authority() const;  // "127.0.0.1:<port>" or "[::1]:<port>"
    // "http://<authority><path>" ("https://" with TLS), or "unix://<path>" for a Unix socket.
    std::string url(std::string_view path = "") const;

    // Every request read so far, in arrival order (recorded before the handler runs).
    std::vector<request>& requests();
    // Connections accepted so far.
    int accepted() const;
    // Connections open now (a client closing one shows here once the server has read its EOF).
    std::size_t open_connections() const;
    // Closes every open connection (as a server's idle timeout does); keeps accepting.
    void close_connections();
    // Stops accepting and closes every open connection, so the io_context can run out of work.
    void stop();

    struct state;

private:
    std::shared_ptr<state> st_;
};

// A response with these fields and body (Content-Length from the body).
fake_http_server::response make_response(unsigned status,
                                         std::initializer_list<std::pair<std::string, std::string>> fields = {},
                                         std::string body = {});

}  // namespace imagewatch::test
