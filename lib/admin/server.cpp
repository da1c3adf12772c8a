#include "admin/server.hpp"

#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <functional>
#include <list>

namespace imagewatch::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;

template <class Stream>
awaitable<void> write_response(Stream& stream, const response& r, unsigned version, bool keep_alive, bool head)
{
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = r.body;
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    http::response_serializer<http::string_body> sr{res};
    if (head)
        co_await http::async_write_header(stream, sr, nothrow_awaitable);  // Content-Length that of the GET body
    else
        co_await http::async_write(stream, sr, nothrow_awaitable);
}

// Open connections, oldest first, so that at the cap the oldest one that is only waiting on its
// client can be closed to make room: neither idle clients nor clients trickling a request or
// refusing to read an answer lock out /healthz or an operator.
struct connection
{
    std::function<void()> close;
    bool handling = false;     // its request is in a handler (a refresh may take minutes)
    bool closing = false;      // chosen for eviction; its session ends at its next step
    bool last_answer = false;  // the server is closing: answer the request in hand, then end
};
using connections = std::list<connection>;

// Closes the oldest connection not in a handler; false when every one is handling a request.
bool close_oldest_waiting(connections& conns)
{
    auto it = std::find_if(conns.begin(), conns.end(), [](const connection& c) { return !c.handling && !c.closing; });
    if (it == conns.end())
        return false;
    it->closing = true;
    it->close();
    return true;
}

template <class Protocol>
awaitable<void> session(beast::basic_stream<Protocol> stream, backend& b, server_settings s, connections& conns)
{
    // close(), not cancel(): a session between two operations would start the next one unharmed.
    auto self = conns.insert(conns.end(), connection{[&stream] { stream.close(); }});
    struct erase_guard
    {
        connections& c;
        connections::iterator it;
        ~erase_guard() { c.erase(it); }
    } guard{conns, self};

    beast::flat_buffer buf;
    while (!self->closing)
    {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(s.body_limit);
        // One deadline for headers and body together: progress on a trickled body buys no time.
        stream.expires_after(s.request_timeout);
        auto [ec, n] = co_await http::async_read(stream, buf, parser, nothrow_awaitable);
        if (self->closing)
            break;
        if (ec == http::error::body_limit)
        {
            co_await write_response(stream, json_error(413, "request body too large (limit 64 KiB)"), 11, false, false);
            break;
        }
        // Past the header an error only ends the session (the request deadline has closed the socket).
        if (ec && parser.is_header_done())
            break;
        if (ec == beast::error::timeout)
        {
            co_await write_response(stream, json_error(408, "request header timeout"), 11, false, false);
            break;
        }
        if (ec)
        {
            if (ec != http::error::end_of_stream && ec != asio::error::eof && ec != asio::error::connection_reset &&
                ec != asio::error::operation_aborted)
                co_await write_response(stream, json_error(400, "bad request"), 11, false, false);
            break;
        }

        const auto& req = parser.get();
        request r{std::string(req.method_string()), std::string(req.target()),
                  std::string(req[http::field::authorization])};
        r.body = req.body();  // webhooks verify signatures over the exact bytes
        r.hub_signature = std::string(req["X-Hub-Signature-256"]);
        r.github_event = std::string(req["X-GitHub-Event"]);
        r.content_type = std::string(req[http::field::content_type]);
        const bool keep_alive = req.keep_alive();
        const unsigned version = req.version();
        const bool head = req.method() == http::verb::head;
        stream.expires_never();  // a refresh may take minutes; the handler owns its own deadlines
        response resp;
        self->handling = true;
        try
        {
            resp = co_await handle(std::move(r), b);
        }
        catch (const std::exception& e)
        {
            log::error("admin handler failed", {{"error", e.what()}});
            resp = json_error(500, "internal error");
        }
        self->handling = false;
        if (self->closing)
            break;
        co_await write_response(stream, resp, version, keep_alive && !self->last_answer, head);
        if (!keep_alive || self->last_answer)
            break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(Protocol::socket::shutdown_send, ignored);
}

template <class Protocol>
class server_impl final : public server
{
public:
    // unix_path: the socket file this server bound, empty for TCP.
    server_impl(typename Protocol::acceptor acceptor, backend& b, server_settings s, std::string address,
                std::string unix_path = {})
        : acceptor_(std::move(acceptor)),
          backend_(b),
          settings_(s),
          address_(std::move(address)),
          unix_path_(std::move(unix_path))
    {
        if (!unix_path_.empty())
            ::lstat(unix_path_.c_str(), &own_socket_);
    }

    awaitable<void> run() override
    {
        running_ = ran_ = true;
        struct done_guard
        {
            bool& running;
            ~done_guard() { running = false; }
        } done{running_};
        auto ex = co_await asio::this_coro::executor;
        while (acceptor_.is_open())
        {
            auto [ec, sock] = co_await acceptor_.async_accept(nothrow_awaitable);
            if (ec)
            {
                if (ec == asio::error::operation_aborted || !acceptor_.is_open())
                    break;
                // Out of file descriptors: free one waiting connection and pause, instead of spinning.
                log::warn("admin accept failed", {{"error", ec.message()}});
                close_oldest_waiting(conns_);
                asio::steady_timer pause(ex, std::chrono::milliseconds(50));
                co_await pause.async_wait(nothrow_awaitable);
                continue;
            }
            if (conns_.size() >= settings_.max_connections)
            {
                // At the cap: close the oldest connection that is only waiting on its client; if
                // every one is in a handler, refuse the newcomer instead.
                if (!close_oldest_waiting(conns_))
                {
                    boost::system::error_code ignored;
                    sock.close(ignored);
                    continue;
                }
            }
            asio::co_spawn(
                ex, session<Protocol>(beast::basic_stream<Protocol>(std::move(sock)), backend_, settings_, conns_),
                [](std::exception_ptr e) {
                    if (e)
                        log::error("admin session failed", {{"error", exception_message(e)}});
                });
        }
    }

    void close() override
    {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        // Remove the socket file only while it is still the one this server bound: a successor
        // bound at the same path (a reload) or anything put there since is not ours.
        struct stat now
        {};
        if (!unix_path_.empty() && ::lstat(unix_path_.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) &&
            now.st_dev == own_socket_.st_dev && now.st_ino == own_socket_.st_ino)
            ::unlink(unix_path_.c_str());
    }

    void end_sessions() override
    {
        for (auto& c : conns_)
        {
            if (c.handling)
                c.last_answer = true;
            else if (!c.closing)
            {
                c.closing = true;
                c.close();
            }
        }
    }

    bool finished() const override { return ran_ && !running_ && conns_.empty(); }

    std::string local_address() const override { return address_; }

private:
    typename Protocol::acceptor acceptor_;
    backend& backend_;
    server_settings settings_;
    std::string address_;
    std::string unix_path_;
    struct stat own_socket_
    {};  // the unix socket file as bound (device, inode)
    connections conns_;
    bool ran_ = false;      // run() was entered (it starts after co_spawn returns)
    bool running_ = false;  // run() has not returned yet
};

}  // namespace

result<void> clear_stale_socket(const std::string& path)
{
    const std::string where = "admin.listen unix:" + path + ": ";
    const auto occupied = [&](std::string_view what) {
        return make_error(errc::invalid_argument,
                          where + std::string(what) +
                              " is already there; it is never replaced (remove it or choose another path)");
    };
    struct stat st
    {};
    if (::lstat(path.c_str(), &st) != 0)
    {
        if (errno == ENOENT)
            return {};
        return make_error(errc::invalid_argument, where + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
        return occupied("a symbolic link");
    if (S_ISDIR(st.st_mode))
        return occupied("a directory");
    if (S_ISREG(st.st_mode))
        return occupied("a regular file");
    if (!S_ISSOCK(st.st_mode))
        return occupied("a special file");
    // A socket: stale only when nobody accepts on it (its owner died without removing it).
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return make_error(errc::invalid_argument, where + "path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // Non-blocking: a listener with a full backlog answers EAGAIN instead of stalling start-up.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error(errc::failed, where + "socket: " + std::strerror(errno));
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
        return occupied("a socket another process is listening on");
    if (err != ECONNREFUSED)
        return make_error(errc::invalid_argument,
                          where + "cannot tell whether the socket there is stale: " + std::strerror(err));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error(errc::failed, where + "removing the stale socket: " + std::strerror(errno));
    log::info("removed a stale admin socket", {{"path", path}});
    return {};
}

result<std::unique_ptr<server>> bind_server(asio::any_io_executor ex, const socket_address& listen, backend& b,
                                            server_settings s)
{
    boost::system::error_code ec;
    // reuse: a TCP port that connections of an earlier process still hold (TIME_WAIT) may be taken.
    const auto listen_on = [&](auto& acc, const auto& ep, bool reuse) -> result<void> {
        acc.open(ep.protocol(), ec);
        if (!ec && reuse)
            acc.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec)
            acc.bind(ep, ec);
        if (!ec)
            acc.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            return make_error(errc::failed, "admin.listen " + listen.text + ": " + ec.message());
        return {};
    };
    if (listen.is_unix())
    {
        const std::string& path = listen.unix_path;
        if (auto cleared = clear_stale_socket(path); !cleared)
            return cleared.error();
        unix_proto::acceptor acc(ex);
        if (auto listening = listen_on(acc, unix_proto::endpoint(path), false); !listening)
            return listening.error();
        return std::unique_ptr<server>(new server_impl<unix_proto>(std::move(acc), b, s, "unix:" + path, path));
    }

    tcp::resolver resolver(ex);
    auto results = resolver.resolve(listen.host, std::to_string(listen.port), tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        return make_error(errc::invalid_argument,
                          "admin.listen " + listen.text + ": " + (ec ? ec.message() : "no address"));
    tcp::acceptor acc(ex);
    if (auto listening = listen_on(acc, results.begin()->endpoint(), true); !listening)
        return listening.error();
    auto bound = acc.local_endpoint(ec);
    std::string addr = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    addr += ":" + std::to_string(bound.port());
    return std::unique_ptr<server>(new server_impl<tcp>(std::move(acc), b, s, addr));
}

}  // namespace imagewatch::admin
