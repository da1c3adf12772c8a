#include "notify/notifier.hpp"

#include "core/base64.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/timeout.hpp"
#include "net/dns.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <ctime>
#include <deque>

namespace imagewatch::notify {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;

namespace {

std::string rfc3339_ms(std::chrono::system_clock::time_point tp)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
    std::time_t t = std::chrono::system_clock::to_time_t(tp);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms < 0 ? ms + 1000 : ms));
    return out;
}

json::value opt(const std::optional<std::string>& v)
{
    if (!v)
        return nullptr;
    return json::value(*v);
}

}  // namespace

std::string to_json(const event& e)
{
    json::object o;
    // A halted rollout and an update seen in notify mode are what a receiver most wants to tell
    // apart from a routine refresh.
    const auto& r = e.outcome.result;
    const auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), e.runtime) != v.end(); };
    o["event"] = has(r.halted) ? "rollout_halted" : has(r.notified) ? "update_available" : "refresh";
    o["timestamp"] = rfc3339_ms(e.at);
    o["runtime"] = e.runtime;
    o["image"] = e.image;
    o["ok"] = !e.outcome.fatal && e.outcome.result.ok();
    o["old_digest"] = opt(e.old_digest);
    o["new_digest"] = opt(e.new_digest);
    // The §5.1 arrays exactly as the admin endpoint writes them.
    const auto arrays = json::parse(refresh::to_json(e.outcome.result));  // named: the loop must not outlive it
    for (const auto& kv : arrays.as_object())
        o[kv.key()] = kv.value();
    o["error"] = opt(e.outcome.fatal);
    return json::serialize(o);
}

result<target> parse_target(std::string_view url)
{
    auto u = boost::urls::parse_uri(url);
    if (!u)
        return make_error(errc::invalid_argument, "notify.webhook_url: not a URL");
    target t;
    if (u->scheme() == "https")
        t.tls = true;
    else if (u->scheme() != "http")
        return make_error(errc::invalid_argument, "notify.webhook_url: scheme must be http or https");
    t.host = u->host_address();
    if (t.host.empty())
        return make_error(errc::invalid_argument, "notify.webhook_url: no host");
    t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
    t.host_header = u->encoded_host_and_port();
    t.path = u->encoded_target();
    if (t.path.empty() || t.path.front() != '/')
        t.path.insert(0, "/");
    if (u->has_userinfo())
        t.authorization = "Basic " + base64_encode(u->user() + ":" + u->password());
    return t;
}

struct detail::notifier_state
{
    notifier_state(asio::any_io_executor e, std::function<std::string()> u, settings st)
        : ex(std::move(e)), url(std::move(u)), s(std::move(st))
    {
    }
    asio::any_io_executor ex;
    std::function<std::string()> url;
    settings s;
    std::deque<event> queue;
    bool sending = false;    // the drain coroutine is running
    bool in_flight = false;  // it holds one event outside the queue
    bool stopped = false;
    std::shared_ptr<ssl::context> tls;  // built on first https use: loading system CAs is not free
};

namespace {

using state_ptr = std::shared_ptr<detail::notifier_state>;

result<std::shared_ptr<ssl::context>> tls_context(const std::string& ca_file)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (!ec && !ca_file.empty())
        ctx->load_verify_file(ca_file, ec);
    if (ec)
        return make_error(errc::failed, "TLS setup: " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
}

template <class Stream>
awaitable<result<unsigned>> exchange(Stream& stream, http::request<http::string_body>& req, std::chrono::milliseconds timeout)
{
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, nothrow_awaitable);
    if (wec)
        co_return make_error(errc::unreachable, "send: " + wec.message());
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    beast::get_lowest_layer(stream).expires_after(timeout);
    // The status line is all we need; the body of an answer is ignored.
    auto [rec, rn] = co_await http::async_read_header(stream, buf, parser, nothrow_awaitable);
    if (rec)
        co_return make_error(rec == beast::error::timeout ? errc::timed_out : errc::bad_response, "response: " + rec.message());
    co_return parser.get().result_int();
}

// One try: POST body to the URL and return the HTTP status. Every step has the try's timeout.
awaitable<result<unsigned>> post(state_ptr st, target t, std::string body)
{
    const auto timeout = st->s.timeout;
    auto endpoints = co_await net::resolve(t.host, t.port, std::chrono::steady_clock::now() + timeout);
    if (!endpoints)
        co_return endpoints.error();
    beast::tcp_stream tcp_stream(st->ex);
    tcp_stream.expires_after(timeout);
    auto [cec, ep] = co_await tcp_stream.async_connect(*endpoints, nothrow_awaitable);
    if (cec)
        co_return make_error(cec == beast::error::timeout ? errc::timed_out : errc::unreachable,
                             "connect " + t.host_header + ": " + cec.message());

    http::request<http::string_body> req{http::verb::post, t.path, 11};
    req.set(http::field::host, t.host_header);
    req.set(http::field::user_agent, "imagewatch/" IMAGEWATCH_VERSION);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    if (!t.authorization.empty())
        req.set(http::field::authorization, t.authorization);
    req.body() = std::move(body);
    req.prepare_payload();

    if (!t.tls)
        co_return co_await exchange(tcp_stream, req, timeout);

    if (!st->tls)
    {
        auto ctx = tls_context(st->s.ca_file);
        if (!ctx)
            co_return ctx.error();
        st->tls = *ctx;
    }
    auto ctx = st->tls;  // keep it alive for this stream even if the state changes
    ssl::stream<beast::tcp_stream> tls(std::move(tcp_stream), *ctx);
    boost::system::error_code addr_ec;
    asio::ip::make_address(t.host, addr_ec);
    if (addr_ec && !SSL_set_tlsext_host_name(tls.native_handle(), t.host.c_str()))
        co_return make_error(errc::failed, "TLS: cannot set SNI");
    tls.set_verify_callback(ssl::host_name_verification(t.host));
    beast::get_lowest_layer(tls).expires_after(timeout);
    auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, nothrow_awaitable);
    if (hec)
        co_return make_error(errc::unreachable, "TLS handshake with " + t.host_header + ": " + hec.message());
    co_return co_await exchange(tls, req, timeout);
}

awaitable<void> sleep_for(asio::any_io_executor ex, std::chrono::milliseconds d)
{
    asio::steady_timer timer(ex, d);
    co_await timer.async_wait(nothrow_awaitable);
}

// Delivers one event: a 2xx answer is success; anything else is retried after the next delay.
awaitable<bool> deliver(state_ptr st, const event& e)
{
    const std::string body = to_json(e);
    std::string last_error;
    for (std::size_t attempt = 0; attempt <= st->s.retry_delays.size(); ++attempt)
    {
        if (attempt > 0)
            co_await sleep_for(st->ex, st->s.retry_delays[attempt - 1]);
        if (st->stopped)
            co_return false;
        const std::string url = st->url();
        if (url.empty())
            co_return false;  // switched off meanwhile
        auto t = parse_target(url);
        if (!t)
        {
            last_error = t.error().message;
            break;  // a bad URL does not get better by retrying
        }
        auto status = co_await with_timeout(post(st, *t, body), st->s.timeout, "notify " + t->host_header);
        if (status && *status >= 200 && *status < 300)
            co_return true;
        last_error = status ? "HTTP " + std::to_string(*status) : status.error().message;
        log::debug("notification attempt failed", {{"runtime", e.runtime}, {"attempt", std::to_string(attempt + 1)}, {"error", last_error}});
    }
    log::warn("notification failed", {{"runtime", e.runtime}, {"error", last_error}});
    co_return false;
}

awaitable<void> drain(state_ptr st)
{
    while (!st->queue.empty() && !st->stopped)
    {
        event e = std::move(st->queue.front());
        st->queue.pop_front();
        st->in_flight = true;
        const bool ok = co_await deliver(st, e);
        st->in_flight = false;
        if (!st->stopped)
            metrics::global().inc("imagewatch_notify_total", {{"result", ok ? "ok" : "error"}});
    }
    // Cleared here, not in the completion handler: an event queued between the loop's last check
    // and the handler would otherwise wait for the next notify().
    st->sending = false;
}

}  // namespace

notifier::notifier(asio::any_io_executor ex, std::function<std::string()> url, settings s)
    : st_(std::make_shared<detail::notifier_state>(std::move(ex), std::move(url), std::move(s)))
{
}

notifier::~notifier() { stop(); }

void notifier::notify(event e)
{
    if (st_->stopped || st_->url().empty())
        return;
    const std::size_t limit = std::max<std::size_t>(st_->s.queue_limit, 1);
    while (st_->queue.size() >= limit)
    {
        log::warn("notification queue full; dropping the oldest event", {{"runtime", st_->queue.front().runtime}});
        st_->queue.pop_front();
        metrics::global().inc("imagewatch_notify_total", {{"result", "dropped"}});
    }
    st_->queue.push_back(std::move(e));
    if (st_->sending)
        return;
    st_->sending = true;
    // Posted, not dispatched: co_spawn from inside the io_context would run the sender inline up to
    // its first suspension, and notify() is meant to do nothing but queue.
    asio::post(st_->ex, [st = st_] {
        asio::co_spawn(st->ex, drain(st), [st](std::exception_ptr ex) {
            st->sending = false;
            if (ex)
                log::error("notification sender failed", {{"error", exception_message(ex)}});
        });
    });
}

std::size_t notifier::pending() const { return st_->queue.size() + (st_->in_flight ? 1 : 0); }

void notifier::stop()
{
    st_->stopped = true;
    st_->queue.clear();
}

}  // namespace imagewatch::notify
