#include "support/fake_http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <unistd.h>

#include <map>
#include <sstream>
#include <strings.h>
#include <type_traits>

namespace imagewatch::test {

namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

namespace {

bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string http_fields::operator[](std::string_view name) const
{
    for (const auto& [k, v] : list)
        if (same_name(k, name))
            return v;
    return {};
}

bool http_fields::has(std::string_view name) const
{
    for (const auto& [k, v] : list)
        if (same_name(k, name))
            return true;
    return false;
}

void http_fields::set(std::string name, std::string value)
{
    std::erase_if(list, [&](const auto& f) { return same_name(f.first, name); });
    list.emplace_back(std::move(name), std::move(value));
}

fake_http_server::response make_response(unsigned status,
                                         std::initializer_list<std::pair<std::string, std::string>> fields,
                                         std::string body)
{
    fake_http_server::response r;
    r.status = status;
    for (const auto& [k, v] : fields)
        r.set(k, v);
    r.body = std::move(body);
    return r;
}

// Shared with the server coroutines, which may finish after the server object is gone.
struct fake_http_server::state
{
    state(asio::io_context& ioc, coro_handler h, options o)
        : on_request(std::move(h)), opts(std::move(o)), tcp_acc(ioc), unix_acc(ioc)
    {
        if (!opts.unix_path.empty())
        {
            ::unlink(opts.unix_path.c_str());
            unix_acc.open();
            unix_acc.bind(local::endpoint(opts.unix_path));
            unix_acc.listen();
            return;
        }
        const tcp::endpoint ep(asio::ip::make_address(opts.address), 0);
        tcp_acc.open(ep.protocol());
        tcp_acc.bind(ep);
        tcp_acc.listen();
        port = tcp_acc.local_endpoint().port();
        if (opts.tls)
        {
            tls.emplace(asio::ssl::context::tls_server);
            const std::string dir = IMAGEWATCH_TEST_DATA "/registry/tls";
            tls->use_certificate_chain_file(dir + "/server.crt");
            tls->use_private_key_file(dir + "/server.key", asio::ssl::context::pem);
        }
    }

    coro_handler on_request;
    options opts;
    tcp::acceptor tcp_acc;
    local::acceptor unix_acc;
    std::optional<asio::ssl::context> tls;
    unsigned short port = 0;
    std::map<int, std::function<void()>> open;  // connection id -> closes its socket
    int accepted = 0;
    int next_id = 0;
    std::vector<request> requests;

    void close_all()
    {
        auto closers = open;  // a closer may end a session, which erases itself
        for (auto& [id, close] : closers)
            close();
    }
};

namespace {

using state = fake_http_server::state;

template <class Stream>
class stream_exchange final : public fake_http_server::exchange
{
public:
    explicit stream_exchange(Stream& s) : stream_(s) {}

    awaitable<bool> send(const fake_http_server::response& r) override
    {
        http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
        for (const auto& [k, v] : r.fields.list)
            res.insert(k, v);
        if (!r.reason.empty())
            res.reason(r.reason);
        res.body() = r.body;
        res.prepare_payload();
        if (r.content_length)
            res.content_length(*r.content_length);
        std::ostringstream out;
        out << res.base() << r.body;
        co_return co_await write(out.str());
    }

    awaitable<bool> write(std::string bytes) override
    {
        auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), nothrow_awaitable);
        co_return !ec;
    }

    void close() override { closing = true; }

    bool closing = false;

private:
    Stream& stream_;
};

fake_http_server::request recorded(const http::request<http::string_body>& req)
{
    fake_http_server::request r{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
    for (const auto& f : req)
        r.fields.list.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return r;
}

// Reads requests one after another on one connection and lets the handler answer each.
template <class Stream>
awaitable<void> serve(std::shared_ptr<state> st, Stream& stream)
{
    boost::beast::flat_buffer buf;
    stream_exchange<Stream> ex(stream);
    while (!ex.closing)
    {
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(stream, buf, req, nothrow_awaitable);
        if (ec)
            co_return;
        auto r = recorded(req);
        st->requests.push_back(r);  // a copy: other sessions may grow the list while this one waits
        co_await st->on_request(r, ex);
    }
}

// One accepted connection: registered as open while it lasts, TLS handshake first when asked.
template <class Socket>
awaitable<void> session(std::shared_ptr<state> st, Socket sock)
{
    const int id = ++st->next_id;
    if constexpr (std::is_same_v<Socket, tcp::socket>)
    {
        if (st->tls)
        {
            asio::ssl::stream<tcp::socket> stream(std::move(sock), *st->tls);
            st->open[id] = [&s = stream.next_layer()] {
                boost::system::error_code ec;
                s.close(ec);
            };
            auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow_awaitable);
            if (!ec)
                co_await serve(st, stream);
            st->open.erase(id);
            co_return;
        }
    }
    st->open[id] = [&sock] {
        boost::system::error_code ec;
        sock.close(ec);
    };
    co_await serve(st, sock);
    st->open.erase(id);
}

template <class Acceptor>
awaitable<void> accept_loop(std::shared_ptr<state> st, Acceptor& acceptor)
{
    for (;;)
    {
        auto [ec, sock] = co_await acceptor.async_accept(nothrow_awaitable);
        if (ec)
            co_return;
        ++st->accepted;
        asio::co_spawn(acceptor.get_executor(), session(st, std::move(sock)), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);  // a failing handler fails the test run
        });
    }
}

fake_http_server::coro_handler from_plain(fake_http_server::handler h)
{
    return [h = std::move(h)](const fake_http_server::request& req, fake_http_server::exchange& ex) -> awaitable<void> {
        auto res = h(req);
        if (!res)
            co_return;  // held: the connection stays open, unanswered
        if (res->drop)
        {
            ex.close();
            co_return;
        }
        if (!co_await ex.send(*res) || res->close)
            ex.close();
    };
}

}  // namespace

fake_http_server::fake_http_server(asio::io_context& ioc, handler h, options o)
    : fake_http_server(ioc, from_plain(std::move(h)), std::move(o))
{}

fake_http_server::fake_http_server(asio::io_context& ioc, coro_handler h, options o)
    : st_(std::make_shared<state>(ioc, std::move(h), std::move(o)))
{
    auto rethrow = [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    };
    if (st_->opts.unix_path.empty())
        asio::co_spawn(ioc, accept_loop(st_, st_->tcp_acc), rethrow);
    else
        asio::co_spawn(ioc, accept_loop(st_, st_->unix_acc), rethrow);
}

fake_http_server::~fake_http_server()
{
    stop();
    if (!st_->opts.unix_path.empty())
        ::unlink(st_->opts.unix_path.c_str());
}

unsigned short fake_http_server::port() const { return st_->port; }

std::string fake_http_server::authority() const
{
    const bool v6 = st_->opts.address.find(':') != std::string::npos;
    return (v6 ? "[" + st_->opts.address + "]" : st_->opts.address) + ":" + std::to_string(port());
}

std::string fake_http_server::url(std::string_view path) const
{
    if (!st_->opts.unix_path.empty())
        return "unix://" + st_->opts.unix_path;
    return (st_->opts.tls ? "https://" : "http://") + authority() + std::string(path);
}

std::vector<fake_http_server::request>& fake_http_server::requests() { return st_->requests; }
int fake_http_server::accepted() const { return st_->accepted; }
std::size_t fake_http_server::open_connections() const { return st_->open.size(); }
void fake_http_server::close_connections() { st_->close_all(); }

void fake_http_server::stop()
{
    boost::system::error_code ec;
    st_->tcp_acc.close(ec);
    st_->unix_acc.close(ec);
    st_->close_all();
}

}  // namespace imagewatch::test
