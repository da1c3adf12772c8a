#include "registry/client.hpp"

#include "core/base64.hpp"
#include "core/keyed_locks.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/timeout.hpp"
#include "core/version.hpp"
#include "http/connection.hpp"
#include "registry/challenge.hpp"
#include "registry/manifest.hpp"
#include "registry/token.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <map>
#include <optional>

namespace imagewatch::registry {

client::~client() = default;

host_options host_options_from(const config::config& cfg, std::string_view host, const env_lookup& env)
{
    host_options o;
    if (auto it = cfg.registries.find(host); it != cfg.registries.end())
    {
        o.ca_file = it->second.ca_file;
        o.insecure_http = it->second.insecure_http;
    }
    auto found = find_credentials(cfg, host, env);
    o.creds = std::move(found.creds);
    o.helper = std::move(found.helper);
    return o;
}

namespace {

using namespace imagewatch::http;
namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

constexpr std::uint64_t token_body_limit = 1024 * 1024;
constexpr std::uint64_t manifest_body_limit = 4 * 1024 * 1024;
constexpr std::chrono::hours max_retry_after{24};  // a longer Retry-After is treated as garbage
constexpr std::size_t body_excerpt = 200;
constexpr std::size_t max_cached_children = 1024;
constexpr std::size_t max_known_challenges = 1024;  // registry hosts of watched images, and past ones

// A short, single-line excerpt of an error body or a header value (never of a token body), valid
// UTF-8 and cut at a character boundary: it ends up in JSON answers.
std::string excerpt(std::string_view body)
{
    std::string out = utf8_excerpt(body, body_excerpt);
    for (char& c : out)
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

// "503 Service Unavailable"; the reason phrase is the registry's (obs-text bytes are legal there).
std::string status_text(const response& res)
{
    auto reason = res.reason().empty() ? http::obsolete_reason(res.result()) : res.reason();
    return std::to_string(res.result_int()) + " " + excerpt(std::string_view(reason.data(), reason.size()));
}

// The last challenge a registry sent, so the next check can present a cached token at once.
struct known_challenge
{
    bool bearer = false;
    std::string realm;
    std::string service;
};

std::string basic_auth(const credentials& c) { return "Basic " + base64_encode(c.username + ":" + c.password); }

// Whose tokens a resolve may be served from the cache: its configured credentials, or the helper
// that would supply them (known before the helper runs, so a warm check runs no helper).
std::string identity_of(const host_options& o)
{
    if (o.creds)
        return credential_identity(o.creds->username, o.creds->password);
    if (o.helper)
        return "helper:" + credential_identity(o.helper->program, o.helper->server_url);
    return {};
}

// One resolve: where its requests go and what they may present.
struct call
{
    image_ref ref;
    host_options opts;
    endpoint ep;
    std::string scope;
    std::string identity;  // identity_of(opts) as configured, before any helper ran
    bool helper_asked = false;
    std::string helper_note;  // why a helper gave nothing ("… failed: …"), for refusal messages

    // Who asked, for messages: "anonymous" or "credentials from <source>".
    std::string who() const
    {
        if (opts.creds)
            return "credentials from " + opts.creds->source;
        return helper_note.empty() ? "anonymous" : "anonymous; " + helper_note;
    }
};

class registry_client final : public client
{
public:
    registry_client(asio::any_io_executor ex, client_settings s)
        : ex_(std::move(ex)), s_(std::move(s)), pool_(ex_, s_.max_idle_per_host, s_.idle_timeout, s_.max_idle_total)
    {}

    awaitable<result<resolved>> resolve(image_ref ref, std::string platform) override;
    std::optional<std::chrono::seconds> retry_after(std::string_view registry_host) const override;
    client_footprint footprint() const override
    {
        return {tokens_.size(), challenges_.size(), slots_.entries(), pool_.idle()};
    }

private:
    host_options options_for(std::string_view host) const
    {
        return s_.host_options_for ? s_.host_options_for(host) : host_options{};
    }
    void set_timeouts(std::chrono::milliseconds connect, std::chrono::milliseconds request) override
    {
        s_.connect_timeout = connect;
        s_.request_timeout = request;
    }

    void remember_challenge(const std::string& registry, known_challenge ch)
    {
        if (challenges_.size() >= max_known_challenges && !challenges_.contains(registry))
            challenges_.clear();  // hosts images no longer use; the next check of each asks afresh
        challenges_.insert_or_assign(registry, std::move(ch));
    }
    step_timeouts timeouts() const { return {s_.connect_timeout, s_.request_timeout}; }
    steady::time_point now() const { return s_.now ? s_.now() : steady::now(); }

    // One request under the whole-request deadline (connect_timeout + request_timeout), on a pooled
    // connection when there is one; reported to on_request.
    awaitable<result<response>> exchange(const endpoint& ep, outgoing req, std::uint64_t body_limit);
    // Sends method target to the registry, answering its challenges; the first non-401 answer
    // through check_status (`shown` is the reference its messages name).
    awaitable<result<response>> authorized(call& c, http::verb method, std::string target, std::uint64_t body_limit,
                                           const image_ref& shown);
    awaitable<void> ask_helper(call& c);
    awaitable<result<std::string>> fetch_token(call& c, token_key key);
    outgoing token_request(const call& c, const token_key& key, const boost::urls::url_view& url, const endpoint& ep);
    // 200 passes; anything else becomes the matching error (naming "METHOD target").
    result<response> check_status(response res, const image_ref& ref, http::verb method, std::string_view target);

    asio::any_io_executor ex_;
    client_settings s_;
    connection_pool pool_;
    token_cache tokens_;
    std::map<std::string, known_challenge, std::less<>> challenges_;     // by registry host
    std::map<std::string, steady::time_point, std::less<>> not_before_;  // Retry-After, by registry host
    std::map<std::string, std::string> children_;  // "<name>@<index digest>|<platform>" -> child digest
    std::string platform_text_;                    // the last platform asked for, parsed
    std::optional<result<platform>> platform_;
    // Connection slots by endpoint (pool_key), only while a request is in flight or waiting: realm
    // endpoints are a registry's choice, so an idle entry is dropped.
    keyed_locks slots_{ex_, std::max<std::size_t>(1, s_.max_connections_per_host)};
};

awaitable<result<response>> registry_client::exchange(const endpoint& ep, outgoing req, std::uint64_t body_limit)
{
    // One of the endpoint's connection slots, at once when one is free.
    auto slot = slots_.try_lock(ep.pool_key);
    if (!slot)
    {
        auto waited = co_await slots_.lock(ep.pool_key, std::nothrow);
        if (!waited)
            co_return make_error(errc::cancelled, ep.authority + ": cancelled while waiting for a connection");
        slot.emplace(std::move(*waited));
    }

    // The whole request (connect + request timeouts) bounds each of its steps' own deadlines.
    auto t = timeouts();
    t.deadline = steady::now() + t.connect + t.request;
    std::string what;  // for the debug line only: "host METHOD target"
    if (log::enabled(log::level::debug))
        what = ep.authority + " " + req.wire.substr(0, req.wire.find(" HTTP/1.1\r\n"));
    // A kept-alive connection the server had closed (connection::stale) is replaced once.
    auto conn = pool_.take(ep);
    result<response> r;
    for (bool retried = false;; retried = true)
    {
        if (!conn)
        {
            auto opened = co_await connection::open(ex_, ep, t);
            if (!opened)
            {
                r = opened.error();
                break;
            }
            conn = std::move(*opened);
        }
        r = co_await conn->exchange(req, body_limit, t);
        if (r)
            break;
        bool again = conn->stale() && !retried;
        co_await conn->close(false, t);
        conn.reset();
        if (!again)
            break;
        log::debug("kept-alive registry connection was closed by the server, retrying on a new one",
                   {{"host", ep.authority}, {"error", r.error().message}});
    }
    unsigned status = r ? r->result_int() : 0;
    if (!what.empty())
        log::debug("registry request", {{"request", what}, {"status", std::to_string(status)}});
    if (s_.on_request)
        s_.on_request(ep.authority, http::to_string(req.method), status);
    if (!r)
        co_return r.error();
    if (conn->reusable())
        pool_.give_back(std::move(conn));
    else  // outside the request deadline: the answer is already in hand
        co_await conn->close(true, timeouts());
    co_return std::move(*r);
}

std::optional<std::chrono::seconds> registry_client::retry_after(std::string_view registry_host) const
{
    auto it = not_before_.find(registry_host);
    if (it == not_before_.end())
        return std::nullopt;
    auto t = now();
    if (t >= it->second)
        return std::nullopt;
    return std::chrono::ceil<std::chrono::seconds>(it->second - t);
}

awaitable<result<resolved>> registry_client::resolve(image_ref ref, std::string platform_text)
{
    if (platform_text != platform_text_ || !platform_)  // the same few values every check
    {
        platform_ = parse_platform(platform_text);
        platform_text_ = platform_text;
    }
    const auto want = *platform_;
    if (!want)
        co_return want.error();
    if (auto wait = retry_after(ref.registry))
        co_return make_error(errc::rate_limited, ref.registry + " asked to wait: retry after " +
                                                     std::to_string(wait->count()) + "s (no request sent)");

    auto opts = options_for(ref.registry);
    auto ep = make_endpoint(ref.endpoint_host(), !opts.insecure_http, opts.ca_file);
    if (!ep)
        co_return ep.error();
    auto identity = identity_of(opts);
    call c{ref, std::move(opts), std::move(*ep), pull_scope(ref.repository), std::move(identity), false, {}};

    std::string target = "/v2/" + ref.repository + "/manifests/" + (ref.digest.empty() ? ref.tag : ref.digest);
    auto head = co_await authorized(c, http::verb::head, target, 0, ref);
    if (!head)
        co_return head.error();
    auto it = head->find("Docker-Content-Digest");
    if (it == head->end() || it->value().empty())
        co_return make_error(errc::bad_response, ref.registry + " sent no Docker-Content-Digest for " + ref.str());
    std::string digest(it->value());
    if (!is_valid_digest(digest))
        co_return make_error(errc::bad_response,
                             ref.registry + " sent a malformed Docker-Content-Digest \"" + excerpt(digest) + "\"");

    resolved out{digest, digest, bare_media_type((*head)[http::field::content_type])};
    if (!is_index_media_type(out.media_type))
        co_return out;

    std::string cache_key = ref.name() + "@" + digest + "|" + want->str();
    if (auto cached = children_.find(cache_key); cached != children_.end())
    {
        out.effective = cached->second;
        co_return out;
    }

    // By digest, not by tag: the tag may have moved since the HEAD.
    image_ref at = ref;
    at.digest = digest;
    std::string index_target = "/v2/" + ref.repository + "/manifests/" + digest;
    auto index = co_await authorized(c, http::verb::get, index_target, manifest_body_limit, at);
    if (!index)
        co_return index.error();
    auto actual = content_digest(index->body(), digest.substr(0, digest.find(':')));
    if (!actual || *actual != digest)
        co_return make_error(errc::bad_response, ref.registry + " sent an index for " + at.str() +
                                                     " whose content has digest " + actual.value_or("?") +
                                                     ": not trusted (corrupted or altered on the way)");
    auto child = select_platform_manifest(index->body(), *want);
    if (!child)
        co_return child.error().wrap(ref.str());
    if (children_.size() >= max_cached_children)
        children_.clear();
    children_.emplace(std::move(cache_key), *child);
    out.effective = std::move(*child);
    co_return out;
}

awaitable<void> registry_client::ask_helper(call& c)
{
    if (c.opts.creds || !c.opts.helper || c.helper_asked)
        co_return;
    c.helper_asked = true;
    auto r = co_await run_credential_helper(*c.opts.helper, s_.helper_timeout);
    if (!r)
    {
        c.helper_note = r.error().message;
        log::warn("credential helper failed, trying without credentials",
                  {{"registry", c.ref.registry}, {"error", r.error().message}});
    }
    else if (!*r)
        c.helper_note = c.opts.helper->program + " has no credentials for " + c.opts.helper->server_url;
    else
        c.opts.creds = std::move(**r);
}

awaitable<result<response>> registry_client::authorized(call& c, http::verb method, std::string target,
                                                        std::uint64_t body_limit, const image_ref& shown)
{
    const auto& ref = c.ref;
    // Present what the registry asked for last time, so a warm check is a single request.
    std::string auth;
    std::optional<token_key> used_key;
    if (auto it = challenges_.find(ref.registry); it != challenges_.end())
    {
        if (it->second.bearer)
        {
            token_key key{ref.registry, c.identity, it->second.realm, it->second.service, c.scope};
            if (auto tok = tokens_.get(key, now()))
            {
                auth = "Bearer " + *tok;
                used_key = std::move(key);
            }
        }
        else
        {
            co_await ask_helper(c);
            if (c.opts.creds && !c.opts.creds->identity_token)
                auth = basic_auth(*c.opts.creds);
        }
    }

    bool answered_challenge = false;  // auth comes from a challenge received in this call
    while (true)
    {
        auto req = make_request(method, target, c.ep.authority,
                                {{"User-Agent", user_agent()}, {"Accept", manifest_accept}, {"Authorization", auth}});
        if (!req)
            co_return req.error().wrap(ref.registry);
        auto res = co_await exchange(c.ep, std::move(*req), body_limit);
        if (!res)
            co_return res.error();
        if (res->result() != http::status::unauthorized)
            co_return check_status(std::move(*res), shown, method, target);

        std::optional<challenge> bearer, basic;  // the first of each, over every WWW-Authenticate field
        auto [first, last] = res->equal_range(http::field::www_authenticate);
        for (auto f = first; f != last; ++f)
        {
            auto parsed = parse_challenges(f->value());
            if (!parsed)
                co_return parsed.error().wrap(ref.registry);
            for (auto& ch : *parsed)
            {
                if (ch.is("bearer") && !bearer)
                    bearer = std::move(ch);
                else if (ch.is("basic") && !basic)
                    basic = std::move(ch);
            }
        }

        if (answered_challenge)
        {
            std::string detail = bearer && !bearer->param("error").empty() ? ": " + bearer->param("error") : "";
            if (used_key)
                tokens_.erase(*used_key);
            std::string how = used_key ? "token from " + used_key->realm : "Basic auth";
            co_return make_error(errc::unauthorized, ref.registry + " refused credentials for " + ref.repository +
                                                         ": " + how + " (" + c.who() + ") was rejected" + detail);
        }
        if (used_key)  // a cached token the registry no longer takes: forget it, answer afresh
            tokens_.erase(*used_key);
        answered_challenge = true;

        if (bearer)
        {
            token_key key{ref.registry, c.identity, bearer->param("realm"), bearer->param("service"), c.scope};
            remember_challenge(ref.registry, known_challenge{true, key.realm, key.service});
            auto tok = co_await fetch_token(c, key);
            if (!tok)
                co_return tok.error();
            auth = "Bearer " + *tok;
            used_key = std::move(key);
        }
        else if (basic)
        {
            remember_challenge(ref.registry, known_challenge{});
            co_await ask_helper(c);
            if (!c.opts.creds)
                co_return make_error(errc::unauthorized,
                                     ref.registry + " requires credentials for " + ref.repository +
                                         " (Basic auth) and none are configured: set registries.\"" + ref.registry +
                                         "\".username_env/password_env or run docker login" +
                                         (c.helper_note.empty() ? "" : " (" + c.helper_note + ")"));
            if (c.opts.creds->identity_token)
                co_return make_error(errc::unauthorized, ref.registry + " asks for Basic auth, which an identity " +
                                                             "token (" + c.opts.creds->source + ") cannot answer");
            auth = basic_auth(*c.opts.creds);
            used_key.reset();
        }
        else
            co_return make_error(errc::unauthorized, ref.registry + " answered 401 for " + ref.repository +
                                                         " without a Bearer or Basic challenge");
    }
}

// GET realm?service&scope, with Basic credentials when there are some; with an identity token, the
// OAuth2 form POST docker sends (grant_type=refresh_token; the token answers as access_token).
outgoing registry_client::token_request(const call& c, const token_key& key, const boost::urls::url_view& url,
                                        const endpoint& ep)
{
    bool oauth = c.opts.creds && c.opts.creds->identity_token;
    // A GET goes to the token URL (service and scope added), the form POST to the realm as it is.
    auto realm = boost::urls::parse_absolute_uri(key.realm);
    std::string target = !oauth  ? std::string(url.encoded_target())
                         : realm ? std::string(realm->encoded_target())
                                 : std::string();
    request req{oauth ? http::verb::post : http::verb::get, target.empty() ? "/" : target, 11};
    if (oauth)
    {
        boost::urls::url form;
        auto params = form.params();
        params.append({"grant_type", "refresh_token"});
        if (!key.service.empty())
            params.append({"service", key.service});
        params.append({"scope", key.scope});
        params.append({"client_id", "imagewatch"});
        params.append({"refresh_token", c.opts.creds->password});
        req.set(http::field::content_type, "application/x-www-form-urlencoded");
        req.body() = std::string(form.encoded_query());
        req.prepare_payload();
    }
    else if (c.opts.creds)
        req.set(http::field::authorization, basic_auth(*c.opts.creds));
    req.set(http::field::host, ep.authority);
    req.set(http::field::user_agent, user_agent());
    req.set(http::field::accept, "application/json");
    return serialize(req);
}

awaitable<result<std::string>> registry_client::fetch_token(call& c, token_key key)
{
    const auto& ref = c.ref;
    if (key.realm.empty())
        co_return make_error(errc::bad_response, ref.registry + ": Bearer challenge without a realm");
    if (auto cached = tokens_.get(key, now()))
        co_return *cached;

    auto url_text = token_url(key.realm, key.service, key.scope);
    if (!url_text)
        co_return url_text.error().wrap(ref.registry);
    auto url = boost::urls::parse_absolute_uri(*url_text);
    if (!url)
        co_return make_error(errc::bad_response, ref.registry + ": bad token realm " + key.realm);
    std::string realm_host(url->encoded_host_and_port());
    bool tls = url->scheme_id() == boost::urls::scheme::https;

    // docs/configuration.md (registries): the realm host's own ca_file if it has one, else that of the registry that sent us there.
    auto realm_opts = options_for(realm_host);
    // The registry chooses the realm, and the registry's credentials go to it (the token protocol:
    // the realm host's own credentials are never used). So plain HTTP takes the realm host's own
    // insecure_http before anything secret is sent there in clear; an anonymous request may also
    // follow a registry that is itself insecure_http, as it exposes nothing more than that.
    const bool secret = c.opts.creds || c.opts.helper;
    if (!tls && !realm_opts.insecure_http && (secret || !c.opts.insecure_http))
        co_return make_error(errc::unauthorized,
                             ref.registry + ": token realm " + key.realm + " is plain HTTP and " + realm_host +
                                 " is not configured insecure_http" +
                                 (secret ? ": credentials from " +
                                               (c.opts.creds ? c.opts.creds->source : c.opts.helper->source) +
                                               " are not sent in clear"
                                         : "") +
                                 "; set registries.\"" + realm_host + "\".insecure_http to allow it");
    auto ep = make_endpoint(realm_host, tls, realm_opts.ca_file.empty() ? c.opts.ca_file : realm_opts.ca_file);
    if (!ep)
        co_return ep.error();

    co_await ask_helper(c);
    auto req = token_request(c, key, *url, *ep);
    auto res = co_await exchange(*ep, std::move(req), token_body_limit);
    if (!res)
        co_return res.error().wrap("token");

    auto code = res->result();
    if (code == http::status::unauthorized || code == http::status::forbidden)
    {
        if (!c.opts.creds)
            co_return make_error(errc::unauthorized, ref.registry + " requires credentials for " + ref.repository +
                                                         ": token server " + key.realm + " answered " +
                                                         status_text(*res) + " to an anonymous request" +
                                                         (c.helper_note.empty() ? "" : " (" + c.helper_note + ")"));
        co_return make_error(errc::unauthorized, ref.registry + " refused credentials for " + ref.repository +
                                                     ": token server " + key.realm + " answered " + status_text(*res) +
                                                     " (" + c.who() + ")");
    }
    if (code != http::status::ok)
        co_return make_error(errc::failed, "token server " + key.realm + " answered " + status_text(*res) + ": " +
                                               excerpt(res->body()));
    auto tok = parse_token_response(res->body());
    if (!tok)
        co_return tok.error().wrap("token server " + key.realm);
    tokens_.put(key, tok->value, tok->expires_in, now());
    log::debug("registry token", {{"realm", key.realm},
                                  {"scope", key.scope},
                                  {"who", c.who()},
                                  {"expires_in", std::to_string(tok->expires_in.count()) + "s"}});
    co_return std::move(tok->value);
}

result<response> registry_client::check_status(response res, const image_ref& ref, http::verb method,
                                               std::string_view target)
{
    auto code = res.result();
    if (code == http::status::ok)
        return res;
    if (code == http::status::not_found)
        return make_error(errc::not_found, "manifest unknown: " + ref.str());
    if (code == http::status::forbidden)
        return make_error(errc::unauthorized,
                          ref.registry + " denied access to " + ref.repository + " (" + status_text(res) + ")");

    if (code == http::status::too_many_requests || code == http::status::service_unavailable)
    {
        // An absent field reads as "", which parses as no Retry-After.
        if (auto wait = parse_retry_after(res[http::field::retry_after], std::chrono::system_clock::now()))
        {
            wait = std::min<std::chrono::seconds>(*wait, max_retry_after);
            not_before_.insert_or_assign(ref.registry, now() + *wait);
            return make_error(errc::rate_limited, ref.registry + " answered " + status_text(res) + ": retry after " +
                                                      std::to_string(wait->count()) + "s");
        }
        if (code == http::status::too_many_requests)
            return make_error(errc::rate_limited, ref.registry + " answered " + status_text(res) + " (no Retry-After)");
    }
    std::string body = excerpt(res.body());
    return make_error(errc::failed, ref.registry + ": " + std::string(http::to_string(method)) + " " +
                                        std::string(target) + " answered " + status_text(res) +
                                        (body.empty() ? "" : ": " + body));
}

}  // namespace

std::unique_ptr<client> make_client(asio::any_io_executor ex, client_settings settings)
{
    return std::make_unique<registry_client>(std::move(ex), std::move(settings));
}

}  // namespace imagewatch::registry
