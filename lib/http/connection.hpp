#pragma once
// HTTP/1.1 client connections, plain or TLS, and the per-endpoint keep-alive pool: the one place
// that writes requests, reads answers within size limits, maps a failed step to an error and
// builds TLS contexts. An endpoint is a TCP host, with or without TLS, or a Unix socket.
// I/O. Beast and OpenSSL are in here: include it from .cpp files only, never from a header.
#include "core/awaitable.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::http {

namespace beast = boost::beast;

struct endpoint;

// A failed step as it happened, for a caller that words errors for its own users.
struct step_failure
{
    std::string_view step;         // "resolve", "connect", "write", "read", "read body"
    boost::system::error_code ec;  // empty for "resolve"
    std::chrono::milliseconds timeout;
    error generic;  // what io_error says (or the resolver's error)
};
using failure_wording = error (*)(const endpoint&, const step_failure&);

// Where one request goes. `authority` is the Host header and the name in messages.
struct endpoint
{
    bool tls = true;
    std::string host;  // DNS name or IP literal, without brackets
    std::string port;
    std::string authority;  // "registry.test:5443"
    std::string ca_file;
    // Words how to allow plain HTTP, appended to a TLS handshake error that looks like a plain-HTTP
    // server; null: no hint.
    std::string (*plain_http_hint)(const endpoint&) = nullptr;
    // Non-empty: a Unix socket (host, port, tls and ca_file unused).
    std::string socket_path;
    // Words failed steps (connect, write, read) instead of io_error; null: io_error.
    failure_wording word_failure = nullptr;

    // Connections are shared only between requests with equal keys (set by make_endpoint).
    std::string pool_key;
};

// A registry's "host", "host:port", "[v6]:port" -> endpoint with the scheme's default port.
result<endpoint> make_endpoint(std::string_view authority, bool tls, std::string ca_file);

using request = beast::http::request<beast::http::string_body>;
using response = beast::http::response<beast::http::string_body>;

// A request as the bytes sent (one buffer: one TLS record for a small request) and its method.
struct outgoing
{
    beast::http::verb method = beast::http::verb::get;
    std::string wire;
    // Read the answer's status and fields only (a webhook's body is of no interest); the
    // connection is not reusable afterwards.
    bool headers_only = false;
};

// req as HTTP/1.1 bytes: start line, fields and body as they are (no Content-Length is added:
// prepare_payload() first when there is a body).
outgoing serialize(const request& req);

// A request without a body, written directly: "METHOD target HTTP/1.1", Host, then fields in
// order; a field with an empty value is left out (an absent Authorization, say). Fails (errc::bad_response) when a value holds CR or LF, e.g. a token from a hostile
// token server, which would otherwise add header lines of its choosing.
result<outgoing> make_request(beast::http::verb method, std::string_view target, std::string_view host,
                              std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

// Each step (connect, TLS handshake, write, read) gets its own Beast deadline, never later than
// `deadline`, the whole request's: no timer or coroutine per request beyond the stream's own.
struct step_timeouts
{
    std::chrono::milliseconds connect;
    std::chrono::milliseconds request;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// One HTTP/1.1 connection.
class connection
{
public:
    static awaitable<result<std::unique_ptr<connection>>> open(asio::any_io_executor ex, endpoint ep, step_timeouts t);

    // Writes req and reads the answer (headers only for HEAD).
    awaitable<result<response>> exchange(const outgoing& req, std::uint64_t body_limit, step_timeouts t);

    // Writes req, reads the answer's status and fields, then hands the body to on_body piece by
    // piece as it arrives (an endless progress stream, say): each read has t.request to bring a
    // byte. Returns the status; an error from on_body ends the stream with that error.
    using body_sink = std::function<result<void>(unsigned status, std::string_view piece)>;
    awaitable<result<unsigned>> stream(const outgoing& req, step_timeouts t, const body_sink& on_body);

    // After a successful exchange: the answer allows another request on this connection
    // (HTTP/1.1 keep-alive, no Connection: close, length-delimited, nothing left unread).
    bool reusable() const { return reusable_; }
    // After a failed exchange: the connection had served a request before and failed before any
    // byte of the answer arrived. This is a kept-alive connection the server had closed (the race
    // every HTTP client with a pool has); the request may be sent again on a fresh connection.
    bool stale() const { return stale_; }
    // Idle and still open as far as the socket can tell (no EOF, no unexpected bytes waiting).
    bool looks_open();

    // Ends the connection. graceful: a TLS connection says close_notify first, bounded by
    // t.connect; the peer may answer stream_truncated, eof or nothing, all ignored.
    awaitable<void> close(bool graceful, step_timeouts t);

    const endpoint& where() const { return ep_; }

private:
    explicit connection(endpoint ep) : ep_(std::move(ep)) {}

    using unix_stream = beast::basic_stream<asio::local::stream_protocol>;
    template <class F>
    decltype(auto) on_stream(F&& f)  // f(the stream requests are written to: TLS, Unix or TCP)
    {
        if (tls_)
            return f(*tls_);
        if (unix_)
            return f(*unix_);
        return f(*plain_);
    }
    template <class F>
    decltype(auto) on_lowest(F&& f)  // f(the TCP or Unix stream under everything)
    {
        return on_stream([&](auto& s) -> decltype(auto) { return f(beast::get_lowest_layer(s)); });
    }
    error fail(std::string_view step, const boost::system::error_code& ec, std::chrono::milliseconds step_timeout,
               std::optional<error> generic = std::nullopt);
    void arm(std::chrono::milliseconds step, const step_timeouts& t);  // deadline of the next step
    result<void> prepare_tls();
    error handshake_error(const boost::system::error_code& ec, std::chrono::milliseconds step_timeout);
    template <class Stream>
    awaitable<result<void>> send(Stream& stream, const outgoing& req, const step_timeouts& t);
    template <class Stream>
    awaitable<result<response>> exchange_on(Stream& stream, const outgoing& req, std::uint64_t body_limit,
                                            step_timeouts t);
    template <class Stream>
    awaitable<result<unsigned>> stream_on(Stream& stream, const outgoing& req, step_timeouts t,
                                          const body_sink& on_body);

    endpoint ep_;
    std::shared_ptr<asio::ssl::context> ctx_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    std::optional<unix_stream> unix_;
    beast::flat_buffer buffer_;
    unsigned exchanges_ = 0;  // completed requests
    bool reusable_ = false;
    bool stale_ = false;
};

// Idle keep-alive connections per endpoint (pool_key), single-threaded: no locking. At most
// max_idle per key and max_idle_total in all are kept (the oldest goes first: token realm hosts
// are a registry's choice), each for at most idle_timeout (a timer closes expired ones, so an
// idle connection never outlives its timeout by much); the most recently used is handed out first.
// Destroying the pool closes every idle connection and stops the timer.
class connection_pool
{
public:
    connection_pool(asio::any_io_executor ex, std::size_t max_idle, std::chrono::milliseconds idle_timeout,
                    std::size_t max_idle_total = 128);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    // An idle connection to ep that still looks open, or nullptr.
    std::unique_ptr<connection> take(const endpoint& ep);
    // Keeps c for the next request to the same endpoint, or closes it when the pool is full.
    void give_back(std::unique_ptr<connection> c);
    std::size_t idle() const;

private:
    struct idle_connection
    {
        std::unique_ptr<connection> conn;
        std::chrono::steady_clock::time_point since;
    };
    // Shared with the sweeper coroutine, which may wake after the pool is gone.
    struct state
    {
        explicit state(asio::any_io_executor ex) : timer(std::move(ex)) {}
        asio::steady_timer timer;
        std::map<std::string, std::vector<idle_connection>, std::less<>> idle;
        bool sweeping = false;
        bool closed = false;
    };
    static awaitable<void> sweep(std::shared_ptr<state> st, std::chrono::milliseconds idle_timeout);

    std::size_t max_idle_;
    std::size_t max_idle_total_;
    std::chrono::milliseconds idle_timeout_;
    std::shared_ptr<state> st_;
};

// Turns a failed I/O step into an operator-facing error.
error io_error(const endpoint& ep, std::string_view step, const boost::system::error_code& ec,
               std::chrono::milliseconds step_timeout);

}  // namespace imagewatch::http
