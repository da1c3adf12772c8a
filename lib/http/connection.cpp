#include "http/connection.hpp"

#include "core/duration.hpp"
#include "core/file_stamp.hpp"
#include "core/host_port.hpp"
#include "net/dns.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>

#include <sys/socket.h>

namespace imagewatch::http {

namespace {

namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::uint32_t header_limit = 64 * 1024;
constexpr std::chrono::seconds recently_used{1};

// System CAs plus ca_file. Loading the system bundle costs milliseconds of CPU and about a MiB,
// so a context is shared by every connection that trusts the same files (measured: a context per
// connection made each cold check cost ~15 ms and ~1 MiB of RSS per concurrent connection).
// A CA file that changes on disk (file_stamp) gets a fresh context at the next new connection.
result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& ca_file)
{
    struct cached
    {
        std::shared_ptr<ssl::context> ctx;
        std::optional<file_stamp> stamp;  // nullopt: no ca_file, or none to stat
    };
    static std::map<std::string, cached> cache;  // one thread: no lock
    const auto stamp = ca_file.empty() ? std::nullopt : stamp_of(ca_file);
    if (auto it = cache.find(ca_file); it != cache.end() && it->second.stamp == stamp)
        return it->second.ctx;

    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec)
        return make_error(errc::failed, "loading the system CA certificates: " + ec.message());
    if (!ca_file.empty())
    {
        ctx->load_verify_file(ca_file, ec);
        if (ec)
            return make_error(errc::invalid_argument, "ca_file " + ca_file + ": cannot load: " + ec.message());
    }
    ctx->set_verify_mode(ssl::verify_peer);
    cache[ca_file] = cached{ctx, stamp};
    return ctx;
}

// Failures that say the peer went away, as opposed to a deadline or a cancellation.
bool is_transport_failure(const boost::system::error_code& ec)
{
    return ec && ec != beast::error::timeout && ec != asio::error::operation_aborted;
}

}  // namespace

result<endpoint> make_endpoint(std::string_view authority, bool tls, std::string ca_file)
{
    auto hp = split_host_port(authority);
    if (!hp || hp->host.empty())
        return make_error(errc::invalid_argument, "bad registry host \"" + std::string(authority) + "\"");
    endpoint ep;
    ep.tls = tls;
    ep.authority = std::string(authority);
    ep.ca_file = std::move(ca_file);
    ep.host = std::string(hp->host);
    ep.port = hp->port.empty() ? (tls ? "443" : "80") : std::string(hp->port);
    ep.pool_key = (tls ? "https://" : "http://") + ep.authority + "|" + ep.ca_file;
    ep.plain_http_hint = [](const endpoint& e) { return "set registries.\"" + e.authority + "\".insecure_http"; };
    return ep;
}

outgoing serialize(const request& req)
{
    outgoing out{req.method(), {}};
    out.wire.reserve(512 + req.body().size());
    out.wire.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
    for (const auto& f : req)
        out.wire.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
    out.wire.append("\r\n").append(req.body());
    return out;
}

result<outgoing> make_request(beast::http::verb method, std::string_view target, std::string_view host,
                              std::initializer_list<std::pair<std::string_view, std::string_view>> fields)
{
    outgoing out{method, {}};
    std::size_t size = 32 + target.size() + host.size();
    for (const auto& [name, value] : fields)
        size += name.size() + value.size() + 4;
    out.wire.reserve(size);
    out.wire.append(beast::http::to_string(method))
        .append(" ")
        .append(target)
        .append(" HTTP/1.1\r\nHost: ")
        .append(host);
    for (const auto& [name, value] : fields)
    {
        if (value.empty())
            continue;
        // Two memchr scans: find_first_of tests every byte against the set (a 2 KiB token: 40k instructions).
        if (value.find('\r') != std::string_view::npos || value.find('\n') != std::string_view::npos)
            return make_error(errc::bad_response, std::string(name) + " value holds a line break: not sent");
        out.wire.append("\r\n").append(name).append(": ").append(value);
    }
    out.wire.append("\r\n\r\n");
    return out;
}

error io_error(const endpoint& ep, std::string_view step, const boost::system::error_code& ec,
               std::chrono::milliseconds step_timeout)
{
    std::string where = ep.authority + ": " + std::string(step) + ": ";
    if (ec == beast::error::timeout)
        return make_error(errc::timed_out, where + "no answer within " + format_duration(step_timeout));
    if (ec == asio::error::operation_aborted)
        return make_error(errc::cancelled, where + "cancelled");
    if (ec == beast::http::error::end_of_stream)
        return make_error(errc::unreachable, where + "connection closed before an answer");
    if (ec.category() == beast::http::make_error_code(beast::http::error::end_of_stream).category())
        return make_error(errc::bad_response, where + "malformed HTTP response: " + ec.message());
    return make_error(errc::unreachable, where + ec.message());
}

// ---- connection ----

awaitable<result<std::unique_ptr<connection>>> connection::open(asio::any_io_executor ex, endpoint ep, step_timeouts t)
{
    auto c = std::unique_ptr<connection>(new connection(std::move(ep)));
    if (!c->ep_.socket_path.empty())
    {
        c->unix_.emplace(ex);
        c->arm(t.connect, t);
        auto [ec] = co_await c->unix_->async_connect(asio::local::stream_protocol::endpoint(c->ep_.socket_path),
                                                     nothrow_awaitable);
        if (ec)
            co_return c->fail("connect", ec, t.connect);
        c->unix_->expires_never();
        co_return c;
    }
    // The lookup has the connect step's time: a name whose DNS does not answer fails this
    // connection only.
    auto results = co_await net::resolve(c->ep_.host, c->ep_.port, std::min(steady::now() + t.connect, t.deadline));
    if (!results)
        co_return c->fail("resolve", {}, t.connect, results.error().wrap(c->ep_.authority));

    if (c->ep_.tls)
    {
        auto ctx = make_tls_context(c->ep_.ca_file);
        if (!ctx)
            co_return ctx.error();
        c->ctx_ = *ctx;
        c->tls_.emplace(ex, *c->ctx_);
    }
    else
        c->plain_.emplace(ex);

    auto& lowest = c->tls_ ? beast::get_lowest_layer(*c->tls_) : *c->plain_;
    c->arm(t.connect, t);
    auto [cec, peer] = co_await lowest.async_connect(*results, nothrow_awaitable);
    if (cec)
        co_return c->fail("connect", cec, t.connect);

    if (c->tls_)
    {
        if (auto r = c->prepare_tls(); !r)
            co_return r.error();
        c->arm(t.connect, t);
        auto [hec] = co_await c->tls_->async_handshake(ssl::stream_base::client, nothrow_awaitable);
        if (hec)
            co_return c->handshake_error(hec, t.connect);
    }
    lowest.expires_never();
    co_return c;
}

awaitable<result<response>> connection::exchange(const outgoing& req, std::uint64_t body_limit, step_timeouts t)
{
    return on_stream([&](auto& s) { return exchange_on(s, req, body_limit, t); });
}

awaitable<result<unsigned>> connection::stream(const outgoing& req, step_timeouts t, const body_sink& on_body)
{
    return on_stream([&](auto& s) { return stream_on(s, req, t, on_body); });
}

bool connection::looks_open()
{
    auto fd = on_lowest([](auto& s) { return s.socket().is_open() ? s.socket().native_handle() : -1; });
    if (fd < 0 || buffer_.size() != 0)
        return false;
    char byte = 0;
    auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // Nothing to read is the only healthy state: 0 is the server's FIN, bytes are unsolicited (a
    // TLS close_notify alert, or garbage), -1 with another errno is a reset.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

awaitable<void> connection::close(bool graceful, step_timeouts t)
{
    if (tls_ && graceful)
    {
        beast::get_lowest_layer(*tls_).expires_after(t.connect);
        co_await tls_->async_shutdown(nothrow_awaitable);
    }
    on_lowest([](auto& s) {
        boost::system::error_code ignored;
        s.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        s.close();
    });
}

error connection::fail(std::string_view step, const boost::system::error_code& ec,
                       std::chrono::milliseconds step_timeout, std::optional<error> generic)
{
    step_failure f{step, ec, step_timeout, generic ? std::move(*generic) : io_error(ep_, step, ec, step_timeout)};
    return ep_.word_failure ? ep_.word_failure(ep_, f) : std::move(f.generic);
}

void connection::arm(std::chrono::milliseconds step, const step_timeouts& t)
{
    auto now = steady::now();
    on_lowest([&](auto& s) { s.expires_at(t.deadline - now > step ? now + step : t.deadline); });
}

// SNI for names only (RFC 6066 forbids IP literals) and RFC 6125 name checking.
result<void> connection::prepare_tls()
{
    if (!net::ip_literal(ep_.host) && !SSL_set_tlsext_host_name(tls_->native_handle(), ep_.host.c_str()))
        return make_error(errc::failed, ep_.authority + ": cannot set TLS SNI");
    tls_->set_verify_callback(ssl::host_name_verification(ep_.host));
    return {};
}

error connection::handshake_error(const boost::system::error_code& ec, std::chrono::milliseconds step_timeout)
{
    long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify == X509_V_OK || ec == beast::error::timeout || ec == asio::error::operation_aborted)
    {
        auto e = io_error(ep_, "TLS handshake", ec, step_timeout);
        bool looks_plain = ec == ssl::error::stream_truncated ||
                           (ec.category() == asio::error::get_ssl_category() &&
                            ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER);
        if (looks_plain && ep_.plain_http_hint)
            e.message += " (if " + ep_.authority + " serves plain HTTP, " + ep_.plain_http_hint(ep_) + ")";
        return e;
    }
    std::string reason = X509_verify_cert_error_string(verify);
    // host_name_verification rejects a name mismatch with the generic "unspecified" result: say why.
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls_->native_handle());
    if (verify == X509_V_ERR_UNSPECIFIED && chain && sk_X509_num(chain) > 0)
    {
        X509* leaf = sk_X509_value(chain, 0);
        int match = net::ip_literal(ep_.host) ? X509_check_ip_asc(leaf, ep_.host.c_str(), 0)
                                              : X509_check_host(leaf, ep_.host.data(), ep_.host.size(), 0, nullptr);
        if (match != 1)
            reason = "the certificate is not valid for " + ep_.host;
    }
    std::string trust = ep_.ca_file.empty() ? "system CAs" : "system CAs + " + ep_.ca_file;
    return make_error(errc::unreachable, ep_.authority + ": TLS handshake: certificate verify failed: " + reason +
                                             " (trusting " + trust + ")");
}

// The start of every request: the connection is neither reusable nor stale until the answer says
// so, and the request's bytes are written within the request step's deadline.
template <class Stream>
awaitable<result<void>> connection::send(Stream& stream, const outgoing& req, const step_timeouts& t)
{
    reusable_ = false;
    stale_ = false;
    arm(t.request, t);
    // Bytes prepared by the caller: Beast's serializer and, on TLS, its flat_stream were ~17% of
    // a warm check's instructions.
    auto [ec, written] = co_await asio::async_write(stream, asio::buffer(req.wire), nothrow_awaitable);
    if (!ec)
        co_return result<void>{};
    stale_ = exchanges_ > 0 && is_transport_failure(ec);
    co_return fail("write", ec, t.request);
}

template <class Stream>
awaitable<result<response>> connection::exchange_on(Stream& stream, const outgoing& req, std::uint64_t body_limit,
                                                    step_timeouts t)
{
    if (auto sent = co_await send(stream, req, t); !sent)
        co_return sent.error();
    beast::http::response_parser<beast::http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    // A HEAD answer announces a Content-Length it never sends.
    parser.skip(req.method == beast::http::verb::head || req.headers_only);
    arm(t.request, t);
    auto [rec, read] = co_await beast::http::async_read(stream, buffer_, parser, nothrow_awaitable);
    if (rec)
    {
        stale_ = exchanges_ > 0 && !parser.got_some() && is_transport_failure(rec);
        co_return fail("read", rec, t.request);
    }
    on_lowest([](auto& s) { s.expires_never(); });
    ++exchanges_;
    reusable_ = !req.headers_only && parser.keep_alive() && !parser.need_eof() && buffer_.size() == 0;
    co_return parser.release();
}

template <class Stream>
awaitable<result<unsigned>> connection::stream_on(Stream& stream, const outgoing& req, step_timeouts t,
                                                  const body_sink& on_body)
{
    if (auto sent = co_await send(stream, req, t); !sent)
        co_return sent.error();
    beast::http::response_parser<beast::http::buffer_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(boost::none);
    arm(t.request, t);
    auto [hec, hn] = co_await beast::http::async_read_header(stream, buffer_, parser, nothrow_awaitable);
    if (hec)
        co_return fail("read", hec, t.request);
    const unsigned status = parser.get().result_int();
    std::array<char, 16 * 1024> piece;
    while (!parser.is_done())
    {
        parser.get().body().data = piece.data();
        parser.get().body().size = piece.size();
        arm(t.request, t);  // re-armed per read: a stream that keeps moving is never cut off here
        auto [ec, n] = co_await beast::http::async_read_some(stream, buffer_, parser, nothrow_awaitable);
        if (ec && ec != beast::http::error::need_buffer)
            co_return fail("read body", ec, t.request);
        if (auto r = on_body(status, {piece.data(), piece.size() - parser.get().body().size}); !r)
            co_return r.error();
    }
    on_lowest([](auto& s) { s.expires_never(); });
    co_return status;
}

// ---- connection_pool ----

connection_pool::connection_pool(asio::any_io_executor ex, std::size_t max_idle, std::chrono::milliseconds idle_timeout,
                                 std::size_t max_idle_total)
    : max_idle_(max_idle),
      max_idle_total_(max_idle_total),
      idle_timeout_(idle_timeout),
      st_(std::make_shared<state>(std::move(ex)))
{}

connection_pool::~connection_pool()
{
    st_->closed = true;
    st_->timer.cancel();
    st_->idle.clear();  // closes the sockets
}

std::unique_ptr<connection> connection_pool::take(const endpoint& ep)
{
    auto it = st_->idle.find(ep.pool_key);
    if (it == st_->idle.end())
        return nullptr;
    auto now = steady::now();
    auto& list = it->second;
    std::unique_ptr<connection> found;
    while (!list.empty() && !found)
    {
        auto entry = std::move(list.back());
        list.pop_back();
        // A connection idle for a moment is taken without asking the socket (a system call per
        // request): if the server closed it meanwhile, no byte of an answer comes and the client
        // sends the request once more on a new connection (connection::stale).
        const auto idle = now - entry.since;
        if (idle < idle_timeout_ && (idle < recently_used || entry.conn->looks_open()))
            found = std::move(entry.conn);
    }
    if (list.empty())
        st_->idle.erase(it);
    return found;
}

void connection_pool::give_back(std::unique_ptr<connection> c)
{
    if (st_->closed || max_idle_ == 0 || max_idle_total_ == 0)
        return;
    auto& lists = st_->idle;
    auto key = lists.find(c->where().pool_key);
    if (key != lists.end() && key->second.size() >= max_idle_)
        key->second.erase(key->second.begin());  // the oldest goes
    else if (idle() >= max_idle_total_)
    {
        // Each list is oldest first: the oldest of all is the front of one of them.
        auto oldest = std::min_element(lists.begin(), lists.end(), [](const auto& a, const auto& b) {
            return a.second.front().since < b.second.front().since;
        });
        oldest->second.erase(oldest->second.begin());
        if (oldest->second.empty())
        {
            if (oldest == key)
                key = lists.end();
            lists.erase(oldest);
        }
    }
    if (key == lists.end())
        key = lists.emplace(c->where().pool_key, std::vector<idle_connection>{}).first;
    key->second.push_back({std::move(c), steady::now()});
    if (!st_->sweeping)
    {
        st_->sweeping = true;
        asio::co_spawn(st_->timer.get_executor(), sweep(st_, idle_timeout_), asio::detached);
    }
}

std::size_t connection_pool::idle() const
{
    std::size_t n = 0;
    for (const auto& [key, list] : st_->idle)
        n += list.size();
    return n;
}

awaitable<void> connection_pool::sweep(std::shared_ptr<state> st, std::chrono::milliseconds idle_timeout)
{
    while (!st->closed && !st->idle.empty())
    {
        auto earliest = steady::time_point::max();
        for (const auto& [key, list] : st->idle)
            for (const auto& e : list)
                earliest = std::min(earliest, e.since);
        st->timer.expires_at(earliest + idle_timeout);
        co_await st->timer.async_wait(nothrow_awaitable);  // a cancel comes from the destructor, which sets closed
        if (st->closed)
            break;
        auto now = steady::now();
        for (auto it = st->idle.begin(); it != st->idle.end();)
        {
            std::erase_if(it->second, [&](const idle_connection& e) { return now - e.since >= idle_timeout; });
            it = it->second.empty() ? st->idle.erase(it) : std::next(it);
        }
    }
    st->sweeping = false;
}

}  // namespace imagewatch::http
