#include "notify/notifier.hpp"

#include "core/base64.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rfc3339.hpp"
#include "core/timeout.hpp"
#include "core/version.hpp"
#include "http/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <deque>

namespace imagewatch::notify {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

std::string to_json(const event& e)
{
    json::object o;
    // A halted rollout and an update seen in notify mode are what a receiver most wants to tell
    // apart from a routine refresh.
    const auto& r = e.outcome.result;
    const auto has = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), e.runtime) != v.end();
    };
    o["event"] = has(r.halted) ? "rollout_halted" : has(r.notified) ? "update_available" : "refresh";
    o["timestamp"] = format_rfc3339(e.at, true);
    o["runtime"] = e.runtime;
    o["image"] = e.image;
    o["ok"] = !e.outcome.fatal && e.outcome.result.ok();
    o["old_digest"] = string_or_null(e.old_digest);
    o["new_digest"] = string_or_null(e.new_digest);
    // The refresh result's arrays exactly as the admin endpoint writes them.
    const auto arrays = json::parse(refresh::to_json(e.outcome.result));  // named: the loop must not outlive it
    for (const auto& kv : arrays.as_object())
        o[kv.key()] = kv.value();
    o["error"] = string_or_null(e.outcome.fatal);
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
    {}
    asio::any_io_executor ex;
    std::function<std::string()> url;
    settings s;
    std::deque<event> queue;
    bool sending = false;    // the drain coroutine is running
    bool in_flight = false;  // it holds one event outside the queue
    bool stopped = false;
};

namespace {

using state_ptr = std::shared_ptr<detail::notifier_state>;

// One try: POST body to the URL and return the HTTP status. Every step has the try's timeout.
awaitable<result<unsigned>> post(state_ptr st, target t, std::string body)
{
    namespace client = imagewatch::http;
    const client::step_timeouts steps{st->s.timeout, st->s.timeout};
    client::endpoint ep;
    ep.tls = t.tls;
    ep.host = std::move(t.host);
    ep.port = std::move(t.port);
    ep.authority = t.host_header;
    ep.ca_file = st->s.ca_file;
    auto conn = co_await client::connection::open(st->ex, std::move(ep), steps);
    if (!conn)
        co_return conn.error();

    client::request req{http::verb::post, t.path, 11};
    req.set(http::field::host, t.host_header);
    req.set(http::field::user_agent, user_agent());
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    if (!t.authorization.empty())
        req.set(http::field::authorization, t.authorization);
    req.body() = std::move(body);
    req.prepare_payload();
    auto out = client::serialize(req);
    out.headers_only = true;
    auto res = co_await (*conn)->exchange(out, 64 * 1024, steps);
    co_await (*conn)->close(false, steps);
    if (!res)
        co_return res.error();
    co_return res->result_int();
}

// Delivers one event: a 2xx answer is success; anything else is retried after the next delay.
awaitable<bool> deliver(state_ptr st, const event& e)
{
    const std::string body = to_json(e);
    std::string last_error;
    for (std::size_t attempt = 0; attempt <= st->s.retry_delays.size(); ++attempt)
    {
        if (attempt > 0)
            co_await sleep_for(st->s.retry_delays[attempt - 1]);
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
        log::debug("notification attempt failed",
                   {{"runtime", e.runtime}, {"attempt", std::to_string(attempt + 1)}, {"error", last_error}});
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
{}

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
