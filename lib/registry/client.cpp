#include "registry/client.hpp"

#include "core/log.hpp"
#include "core/timeout.hpp"
#include "registry/challenge.hpp"
#include "registry/manifest.hpp"
#include "registry/token.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#include <map>
#include <optional>

namespace imagewatch::registry {

client::~client() = default;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::uint64_t token_body_limit = 1024 * 1024;
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr std::chrono::hours max_retry_after{24};  // a longer Retry-After is treated as garbage
constexpr std::size_t body_excerpt = 200;

// Where one request goes. `authority` is the Host header and the name in messages.
struct endpoint
{
    bool tls = true;
    std::string host;       // DNS name or IP literal, without brackets
    std::string port;
    std::string authority;  // "registry.test:5443"
    std::string ca_file;
};

using request = http::request<http::empty_body>;
using response = http::response<http::string_body>;

struct step_timeouts
{
    std::chrono::milliseconds connect;
    std::chrono::milliseconds request;
};

// "host", "host:port", "[v6]:port" -> endpoint with the scheme's default port.
result<endpoint> make_endpoint(std::string_view authority, bool tls, std::string ca_file)
{
    endpoint ep;
    ep.tls = tls;
    ep.authority = std::string(authority);
    ep.ca_file = std::move(ca_file);
    std::string_view host = authority, port;
    if (!authority.empty() && authority.front() == '[')
    {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return make_error(errc::invalid_argument, "bad registry host \"" + ep.authority + "\"");
        host = authority.substr(1, close - 1);
        auto rest = authority.substr(close + 1);
        if (!rest.empty() && rest.front() == ':')
            port = rest.substr(1);
        else if (!rest.empty())
            return make_error(errc::invalid_argument, "bad registry host \"" + ep.authority + "\"");
    }
    else if (auto colon = authority.rfind(':'); colon != std::string_view::npos)
    {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty())
        return make_error(errc::invalid_argument, "bad registry host \"" + ep.authority + "\"");
    ep.host = std::string(host);
    ep.port = port.empty() ? (tls ? "443" : "80") : std::string(port);
    return ep;
}

std::string status_text(const response& res)
{
    auto reason = res.reason().empty() ? http::obsolete_reason(res.result()) : res.reason();
    return std::to_string(res.result_int()) + " " + std::string(reason);
}

// A short, single-line excerpt of an error body (never of a token body).
std::string excerpt(std::string_view body)
{
    std::string out;
    for (char c : body.substr(0, body_excerpt))
        out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    if (body.size() > body_excerpt)
        out += "...";
    return out;
}

bool is_ip_literal(const std::string& host)
{
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// System CAs plus ca_file. Built per connection today (cheap next to a handshake, and it picks up a
// replaced CA file at once); a connection pool would keep one per (host, ca_file).
result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& ca_file)
{
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
    return ctx;
}

// Turns a failed I/O step into an operator-facing error.
error io_error(const endpoint& ep, std::string_view step, const boost::system::error_code& ec,
               std::chrono::milliseconds step_timeout)
{
    std::string where = ep.authority + ": " + std::string(step) + ": ";
    if (ec == beast::error::timeout)
        return make_error(errc::timed_out, where + "no answer within " + format_duration(step_timeout));
    if (ec == asio::error::operation_aborted)
        return make_error(errc::cancelled, where + "cancelled");
    if (ec == http::error::end_of_stream)
        return make_error(errc::unreachable, where + "connection closed before an answer");
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
        return make_error(errc::bad_response, where + "malformed HTTP response: " + ec.message());
    return make_error(errc::unreachable, where + ec.message());
}

// One HTTP/1.1 connection, plain or TLS. Today each exchange opens and closes its own (see
// registry_client::exchange); a per-host keep-alive pool would hand these out instead.
class connection
{
public:
    static awaitable<result<std::unique_ptr<connection>>>
    open(asio::any_io_executor ex, endpoint ep, step_timeouts t)
    {
        auto c = std::unique_ptr<connection>(new connection(std::move(ep)));
        tcp::resolver resolver(ex);
        auto [rec, results] = co_await resolver.async_resolve(c->ep_.host, c->ep_.port, nothrow_awaitable);
        if (rec)
            co_return io_error(c->ep_, "resolve", rec, t.connect);

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

        auto& lowest = c->lowest();
        lowest.expires_after(t.connect);
        auto [cec, peer] = co_await lowest.async_connect(results, nothrow_awaitable);
        if (cec)
            co_return io_error(c->ep_, "connect", cec, t.connect);
        (void)peer;

        if (c->tls_)
        {
            if (auto r = c->prepare_tls(); !r)
                co_return r.error();
            lowest.expires_after(t.connect);
            auto [hec] = co_await c->tls_->async_handshake(ssl::stream_base::client, nothrow_awaitable);
            if (hec)
                co_return c->handshake_error(hec, t.connect);
        }
        co_return c;
    }

    // Writes req and reads the answer (headers only for HEAD). Each step has its own deadline.
    awaitable<result<response>> exchange(request req, std::uint64_t body_limit, step_timeouts t)
    {
        if (tls_)
            co_return co_await exchange_on(*tls_, std::move(req), body_limit, t);
        co_return co_await exchange_on(*plain_, std::move(req), body_limit, t);
    }

    // Ends the connection. After a complete exchange a TLS connection says close_notify first; a peer
    // (Go's server) may answer stream_truncated or eof, or not at all: the outcome is ignored and the
    // wait bounded. After a failure the socket is just closed.
    awaitable<void> close(bool graceful, step_timeouts t)
    {
        if (tls_ && graceful)
        {
            lowest().expires_after(t.connect);
            auto [ec] = co_await tls_->async_shutdown(nothrow_awaitable);
            (void)ec;
        }
        boost::system::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

private:
    explicit connection(endpoint ep) : ep_(std::move(ep)) {}

    beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

    // SNI for names only (RFC 6066 forbids IP literals) and RFC 6125 name checking.
    result<void> prepare_tls()
    {
        if (!is_ip_literal(ep_.host) && !SSL_set_tlsext_host_name(tls_->native_handle(), ep_.host.c_str()))
            return make_error(errc::failed, ep_.authority + ": cannot set TLS SNI");
        tls_->set_verify_callback(ssl::host_name_verification(ep_.host));
        return {};
    }

    error handshake_error(const boost::system::error_code& ec, std::chrono::milliseconds step_timeout)
    {
        long verify = SSL_get_verify_result(tls_->native_handle());
        if (verify == X509_V_OK || ec == beast::error::timeout || ec == asio::error::operation_aborted)
        {
            auto e = io_error(ep_, "TLS handshake", ec, step_timeout);
            bool looks_plain = ec == ssl::error::stream_truncated ||
                               (ec.category() == asio::error::get_ssl_category() &&
                                ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER);
            if (looks_plain)
                e.message += " (if " + ep_.authority + " serves plain HTTP, set registries.\"" + ep_.authority +
                             "\".insecure_http)";
            return e;
        }
        std::string reason = X509_verify_cert_error_string(verify);
        // host_name_verification rejects a name mismatch with the generic "unspecified" result: say why.
        STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls_->native_handle());
        if (verify == X509_V_ERR_UNSPECIFIED && chain && sk_X509_num(chain) > 0)
        {
            X509* leaf = sk_X509_value(chain, 0);
            int match = is_ip_literal(ep_.host) ? X509_check_ip_asc(leaf, ep_.host.c_str(), 0)
                                                : X509_check_host(leaf, ep_.host.data(), ep_.host.size(), 0, nullptr);
            if (match != 1)
                reason = "the certificate is not valid for " + ep_.host;
        }
        std::string trust = ep_.ca_file.empty() ? "system CAs" : "system CAs + " + ep_.ca_file;
        return make_error(errc::unreachable, ep_.authority + ": TLS handshake: certificate verify failed: " + reason +
                                                 " (trusting " + trust + ")");
    }

    template <class Stream>
    awaitable<result<response>> exchange_on(Stream& stream, request req, std::uint64_t body_limit, step_timeouts t)
    {
        bool head = req.method() == http::verb::head;
        lowest().expires_after(t.request);
        auto [wec, written] = co_await http::async_write(stream, req, nothrow_awaitable);
        if (wec)
            co_return io_error(ep_, "write", wec, t.request);
        (void)written;

        http::response_parser<http::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(body_limit);
        parser.skip(head);  // a HEAD answer announces a Content-Length it never sends
        lowest().expires_after(t.request);
        auto [rec, read] = co_await http::async_read(stream, buffer_, parser, nothrow_awaitable);
        if (rec)
            co_return io_error(ep_, "read", rec, t.request);
        (void)read;
        lowest().expires_never();
        co_return parser.release();
    }

    endpoint ep_;
    std::shared_ptr<ssl::context> ctx_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
};

// The last challenge a registry sent, so the next check can present a cached token at once.
struct known_challenge
{
    bool bearer = false;
    std::string realm;
    std::string service;
};

// Who asked for the token, for messages: "anonymous" or "credentials from <source>".
std::string who(const std::optional<credentials>& creds)
{
    return creds ? "credentials from " + creds->source : "anonymous";
}

std::string basic_auth(const credentials& c) { return "Basic " + base64_encode(c.username + ":" + c.password); }

class registry_client final : public client
{
public:
    registry_client(asio::any_io_executor ex, client_settings s) : ex_(std::move(ex)), s_(std::move(s)) {}

    awaitable<result<std::string>> head_digest(image_ref ref) override;
    std::optional<std::chrono::seconds> retry_after(std::string_view registry_host) const override;

private:
    host_options options_for(std::string_view host) const
    {
        return s_.host_options_for ? s_.host_options_for(host) : host_options{};
    }
    step_timeouts timeouts() const { return {s_.connect_timeout, s_.request_timeout}; }

    // A response and the connection it came on (default-constructible for with_timeout).
    struct exchanged
    {
        response res;
        std::unique_ptr<connection> conn;
    };

    // One request under the whole-request deadline (connect_timeout + request_timeout).
    awaitable<result<response>> exchange(endpoint ep, request req, std::uint64_t body_limit);
    awaitable<result<exchanged>> exchange_once(endpoint ep, request req, std::uint64_t body_limit);
    awaitable<result<std::string>> fetch_token(image_ref ref, host_options reg, token_key key);
    result<std::string> interpret(const response& res, const image_ref& ref, const std::string& scope_repo);

    asio::any_io_executor ex_;
    client_settings s_;
    token_cache tokens_;
    std::map<std::string, known_challenge, std::less<>> challenges_;  // by registry host
    std::map<std::string, steady::time_point, std::less<>> not_before_;  // Retry-After, by registry host
};

awaitable<result<response>> registry_client::exchange(endpoint ep, request req, std::uint64_t body_limit)
{
    std::string what = ep.authority + " " + std::string(req.method_string()) + " " + std::string(req.target());
    std::string method(req.method_string());
    std::string host = ep.authority;
    auto r = co_await with_timeout(
        exchange_once(std::move(ep), std::move(req), body_limit), s_.connect_timeout + s_.request_timeout, what
    );
    unsigned status = r ? r->res.result_int() : 0;
    log::debug("registry request", {{"request", what}, {"status", std::to_string(status)}});
    if (s_.on_request)
        s_.on_request(host, method, status);
    if (!r)
        co_return r.error();
    // The connection-pool seam: a pool would take the connection back here when the response
    // allows keep-alive. Closing is outside the request deadline: the answer is already in hand.
    co_await r->conn->close(true, timeouts());
    co_return std::move(r->res);
}

awaitable<result<registry_client::exchanged>>
registry_client::exchange_once(endpoint ep, request req, std::uint64_t body_limit)
{
    auto t = timeouts();
    auto conn = co_await connection::open(ex_, std::move(ep), t);  // a pool: acquire(ep)
    if (!conn)
        co_return conn.error();
    auto r = co_await (*conn)->exchange(std::move(req), body_limit, t);
    if (!r)
    {
        co_await (*conn)->close(false, t);
        co_return r.error();
    }
    co_return exchanged{std::move(*r), std::move(*conn)};
}

std::optional<std::chrono::seconds> registry_client::retry_after(std::string_view registry_host) const
{
    auto it = not_before_.find(registry_host);
    if (it == not_before_.end())
        return std::nullopt;
    auto now = steady::now();
    if (now >= it->second)
        return std::nullopt;
    return std::chrono::ceil<std::chrono::seconds>(it->second - now);
}

awaitable<result<std::string>> registry_client::head_digest(image_ref ref)
{
    if (auto wait = retry_after(ref.registry))
        co_return make_error(errc::rate_limited, ref.registry + " asked to wait: retry after " +
                                                     std::to_string(wait->count()) + "s (no request sent)");

    auto opts = options_for(ref.registry);
    auto ep = make_endpoint(ref.endpoint_host(), !opts.insecure_http, opts.ca_file);
    if (!ep)
        co_return ep.error();
    std::string target = "/v2/" + ref.repository + "/manifests/" + (ref.digest.empty() ? ref.tag : ref.digest);
    std::string scope = pull_scope(ref.repository);

    // Present what the registry asked for last time, so a warm check is a single request.
    std::string auth;
    std::optional<token_key> used_key;
    if (auto it = challenges_.find(ref.registry); it != challenges_.end())
    {
        if (it->second.bearer)
        {
            token_key key{it->second.realm, it->second.service, scope};
            if (auto tok = tokens_.get(key, steady::now()))
            {
                auth = "Bearer " + *tok;
                used_key = std::move(key);
            }
        }
        else if (opts.creds)
            auth = basic_auth(*opts.creds);
    }

    bool answered_challenge = false;  // auth comes from a challenge received in this call
    while (true)
    {
        request req{http::verb::head, target, 11};
        req.set(http::field::host, ep->authority);
        req.set(http::field::user_agent, "imagewatch/" IMAGEWATCH_VERSION);
        req.set(http::field::accept, manifest_accept);
        if (!auth.empty())
            req.set(http::field::authorization, auth);
        auto res = co_await exchange(*ep, std::move(req), 0);
        if (!res)
            co_return res.error();
        if (res->result() != http::status::unauthorized)
            co_return interpret(*res, ref, ref.repository);

        std::vector<challenge> challenges;
        auto [first, last] = res->equal_range(http::field::www_authenticate);
        for (auto f = first; f != last; ++f)
        {
            auto parsed = parse_challenges(f->value());
            if (!parsed)
                co_return parsed.error().wrap(ref.registry);
            challenges.insert(challenges.end(), parsed->begin(), parsed->end());
        }
        const challenge* bearer = nullptr;
        const challenge* basic = nullptr;
        for (const auto& c : challenges)
        {
            if (c.is("bearer") && !bearer)
                bearer = &c;
            if (c.is("basic") && !basic)
                basic = &c;
        }

        if (answered_challenge)
        {
            std::string detail = bearer && !bearer->param("error").empty() ? ": " + bearer->param("error") : "";
            if (used_key)
                tokens_.erase(*used_key);
            std::string how = used_key ? "token from " + used_key->realm : "Basic auth";
            co_return make_error(errc::unauthorized, ref.registry + " refused credentials for " + ref.repository +
                                                         ": " + how + " (" + who(opts.creds) + ") was rejected" +
                                                         detail);
        }
        if (used_key)  // a cached token the registry no longer takes: forget it, answer afresh
            tokens_.erase(*used_key);
        answered_challenge = true;

        if (bearer)
        {
            token_key key{bearer->param("realm"), bearer->param("service"), scope};
            challenges_.insert_or_assign(ref.registry, known_challenge{true, key.realm, key.service});
            auto tok = co_await fetch_token(ref, opts, key);
            if (!tok)
                co_return tok.error();
            auth = "Bearer " + *tok;
            used_key = std::move(key);
        }
        else if (basic)
        {
            challenges_.insert_or_assign(ref.registry, known_challenge{});
            if (!opts.creds)
                co_return make_error(errc::unauthorized,
                                     ref.registry + " requires credentials for " + ref.repository +
                                         " (Basic auth) and none are configured: set registries.\"" + ref.registry +
                                         "\".username_env/password_env or run docker login");
            auth = basic_auth(*opts.creds);
            used_key.reset();
        }
        else
            co_return make_error(errc::unauthorized, ref.registry + " answered 401 for " + ref.repository +
                                                         " without a Bearer or Basic challenge");
    }
}

awaitable<result<std::string>> registry_client::fetch_token(image_ref ref, host_options reg, token_key key)
{
    if (key.realm.empty())
        co_return make_error(errc::bad_response, ref.registry + ": Bearer challenge without a realm");
    if (auto cached = tokens_.get(key, steady::now()))
        co_return *cached;

    auto url_text = token_url(key.realm, key.service, key.scope);
    if (!url_text)
        co_return url_text.error().wrap(ref.registry);
    auto url = boost::urls::parse_absolute_uri(*url_text);
    if (!url)
        co_return make_error(errc::bad_response, ref.registry + ": bad token realm " + key.realm);
    std::string realm_host(url->encoded_host_and_port());
    bool tls = url->scheme_id() == boost::urls::scheme::https;

    // SPEC §3: the realm host's own ca_file if it has one, else that of the registry that sent us there.
    auto realm_opts = options_for(realm_host);
    if (!tls && !realm_opts.insecure_http && !reg.insecure_http)
        co_return make_error(errc::unauthorized, ref.registry + ": token realm " + key.realm +
                                                     " is plain HTTP; set registries.\"" + realm_host +
                                                     "\".insecure_http to allow it");
    auto ep = make_endpoint(realm_host, tls, realm_opts.ca_file.empty() ? reg.ca_file : realm_opts.ca_file);
    if (!ep)
        co_return ep.error();

    std::string target(url->encoded_target());
    request req{http::verb::get, target.empty() ? "/" : target, 11};
    req.set(http::field::host, ep->authority);
    req.set(http::field::user_agent, "imagewatch/" IMAGEWATCH_VERSION);
    req.set(http::field::accept, "application/json");
    if (reg.creds)
        req.set(http::field::authorization, basic_auth(*reg.creds));
    auto res = co_await exchange(*ep, std::move(req), token_body_limit);
    if (!res)
        co_return res.error().wrap("token");

    auto code = res->result();
    if (code == http::status::unauthorized || code == http::status::forbidden)
    {
        if (!reg.creds)
            co_return make_error(errc::unauthorized, ref.registry + " requires credentials for " + ref.repository +
                                                         ": token server " + key.realm + " answered " +
                                                         status_text(*res) + " to an anonymous request");
        co_return make_error(errc::unauthorized, ref.registry + " refused credentials for " + ref.repository +
                                                     ": token server " + key.realm + " answered " +
                                                     status_text(*res) + " (" + who(reg.creds) + ")");
    }
    if (code != http::status::ok)
        co_return make_error(errc::failed, "token server " + key.realm + " answered " + status_text(*res) + ": " +
                                               excerpt(res->body()));
    auto tok = parse_token_response(res->body());
    if (!tok)
        co_return tok.error().wrap("token server " + key.realm);
    tokens_.put(key, tok->value, tok->expires_in, steady::now());
    log::debug("registry token", {{"realm", key.realm}, {"scope", key.scope}, {"who", who(reg.creds)},
                                  {"expires_in", std::to_string(tok->expires_in.count()) + "s"}});
    co_return std::move(tok->value);
}

result<std::string> registry_client::interpret(const response& res, const image_ref& ref, const std::string& repo)
{
    auto code = res.result();
    if (code == http::status::ok)
    {
        auto it = res.find("Docker-Content-Digest");
        if (it == res.end() || it->value().empty())
            return make_error(errc::bad_response, ref.registry + " sent no Docker-Content-Digest for " + ref.str());
        std::string digest(it->value());
        if (!is_valid_digest(digest))
            return make_error(errc::bad_response,
                              ref.registry + " sent a malformed Docker-Content-Digest \"" + excerpt(digest) + "\"");
        return digest;
    }
    if (code == http::status::not_found)
        return make_error(errc::not_found, "manifest unknown: " + ref.str());
    if (code == http::status::forbidden)
        return make_error(errc::unauthorized, ref.registry + " denied access to " + repo + " (" + status_text(res) + ")");

    if (code == http::status::too_many_requests || code == http::status::service_unavailable)
    {
        auto it = res.find(http::field::retry_after);
        std::optional<std::chrono::seconds> wait;
        if (it != res.end())
            wait = parse_retry_after(it->value(), std::chrono::system_clock::now());
        if (wait)
        {
            wait = std::min<std::chrono::seconds>(*wait, max_retry_after);
            not_before_.insert_or_assign(ref.registry, steady::now() + *wait);
            return make_error(errc::rate_limited, ref.registry + " answered " + status_text(res) +
                                                      ": retry after " + std::to_string(wait->count()) + "s");
        }
        if (code == http::status::too_many_requests)
            return make_error(errc::rate_limited, ref.registry + " answered " + status_text(res) + " (no Retry-After)");
    }
    std::string body = excerpt(res.body());
    return make_error(errc::failed, ref.registry + ": HEAD /v2/" + repo + "/manifests/" +
                                        (ref.digest.empty() ? ref.tag : ref.digest) + " answered " + status_text(res) +
                                        (body.empty() ? "" : ": " + body));
}

}  // namespace

std::unique_ptr<client> make_client(asio::any_io_executor ex, client_settings settings)
{
    return std::make_unique<registry_client>(std::move(ex), std::move(settings));
}

}  // namespace imagewatch::registry
