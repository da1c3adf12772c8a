#include "docker/client.hpp"

#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/pace.hpp"
#include "core/text.hpp"
#include "core/timeout.hpp"
#include "core/version.hpp"
#include "docker/pull_progress.hpp"
#include "docker/unreachable.hpp"
#include "http/connection.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace imagewatch::docker {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace transport = imagewatch::http;

namespace {

constexpr std::uint64_t json_body_limit = 8 * 1024 * 1024;
constexpr std::size_t error_body_limit = 64 * 1024;
// Engine API versions: the oldest we accept, and the newest whose payloads we write.
constexpr int api_min_minor = 41;
constexpr int api_max_minor = 45;

// Docker's own words for a failed step: the daemon is named, and a refused or missing socket says
// what to do. The operation ("inspect container web: ") is prefixed by the caller.
error word_docker_failure(const transport::endpoint& ep, const transport::step_failure& f)
{
    const auto& ec = f.ec;
    if (ec == asio::error::operation_aborted)
        return make_error(errc::cancelled,
                          f.step == "connect" ? "connect to the Docker daemon: cancelled" : "cancelled");
    if (f.step == "resolve")
        return f.generic.code == errc::cancelled
                   ? f.generic
                   : make_error(errc::unreachable, unreachable_message(ep.authority, 0, f.generic.message));
    if (f.step == "connect")
    {
        const int err = ec.category() == boost::system::system_category() ? ec.value() : 0;
        std::string why =
            ec == beast::error::timeout ? "no connection within " + format_duration(f.timeout) : ec.message();
        return make_error(errc::unreachable, unreachable_message(ep.authority, err, why));
    }
    if (ec == beast::error::timeout)
        return make_error(errc::timed_out,
                          f.step == "read body"
                              ? "no progress from the Docker daemon for " + format_duration(f.timeout)
                              : "the Docker daemon did not answer within " + format_duration(f.timeout));
    if (ec == http::error::body_limit)
        return make_error(errc::bad_response, "the Docker daemon's answer is larger than 8 MiB");
    if (ec.category() == beast::error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
        return make_error(errc::bad_response, "malformed HTTP from the Docker daemon: " + ec.message());
    return make_error(errc::unreachable,
                      "lost the connection to the Docker daemon at " + ep.authority + ": " + ec.message());
}

// Where requests go; authority is the address as configured, for messages.
transport::endpoint daemon_endpoint(const socket_address& a)
{
    transport::endpoint ep;
    ep.tls = false;
    ep.authority = a.text;
    ep.word_failure = word_docker_failure;
    ep.socket_path = a.unix_path;
    if (!a.is_unix())
    {
        ep.host = a.host;
        ep.port = std::to_string(a.port);
    }
    return ep;
}

// "1.41" -> 41 (major must be 1); -1 when unparsable.
int api_minor(std::string_view v)
{
    if (!v.starts_with("1."))
        return -1;
    int minor = -1;
    auto [end, ec] = std::from_chars(v.data() + 2, v.data() + v.size(), minor);
    if (ec != std::errc() || end != v.data() + v.size())
        return -1;
    return minor;
}

std::string api_text(int minor) { return "1." + std::to_string(minor); }

// Percent-encodes everything but unreserved characters and `keep` (e.g. "/:@" in image names).
std::string pct_encode(std::string_view s, const char* keep = "")
{
    return boost::urls::encode(s, boost::urls::unreserved_chars + boost::urls::grammar::lut_chars(keep));
}

// Docker's error body is {"message": "..."}; fall back to a trimmed excerpt of whatever came, valid
// UTF-8 and cut at a character boundary (it ends up in JSON answers).
std::string docker_message(std::string_view body)
{
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (!ec)
        if (const auto* o = v.if_object())
            if (auto it = o->find("message"); it != o->end() && it->value().is_string())
                return std::string(it->value().get_string());
    const auto t = trim_end(body, " \t\n\v\f\r");  // what std::isspace calls space
    return t.empty() ? std::string("(empty body)") : utf8_excerpt(t, 300);
}

error status_error(std::string_view what, unsigned status, std::string_view body)
{
    std::string msg = docker_message(body);
    if (status == 404)
        return make_error(errc::not_found, std::string(what) + ": " + msg);
    errc code = status == 401 || status == 403 ? errc::unauthorized : errc::failed;
    return make_error(code, std::string(what) + ": " + msg + " (HTTP " + std::to_string(status) + ")");
}

struct response
{
    unsigned status = 0;
    std::string body;
    std::string api_version;  // API-Version header (from /_ping)
};

struct request_spec
{
    http::verb method = http::verb::get;
    std::string target;                        // full target, version prefix included
    std::string body;                          // JSON, or empty
    std::string registry_auth;                 // X-Registry-Auth; a secret, never logged
    std::chrono::milliseconds read_timeout{};  // the request's steps; zero: request_timeout
    std::string what;                          // "inspect container web", for messages
};

class client final : public api
{
public:
    client(asio::any_io_executor ex, client_settings settings, transport::endpoint daemon)
        : ex_(std::move(ex)), settings_(std::move(settings)), daemon_(std::move(daemon))
    {}

    void set_timeouts(std::chrono::milliseconds connect, std::chrono::milliseconds request) override
    {
        settings_.connect_timeout = connect;
        settings_.request_timeout = request;
    }
    awaitable<result<version_info>> ping() override;
    awaitable<result<std::vector<container_summary>>> list_containers() override;
    awaitable<result<json::object>> inspect_container(std::string id) override;
    awaitable<result<json::object>> inspect_image(std::string name_or_id) override;
    awaitable<result<pull_totals>> pull(image_ref ref, std::string platform, std::string registry_auth,
                                        std::chrono::milliseconds timeout, pull_observer on_progress) override;
    awaitable<result<std::string>> create_container(std::string name, json::object body) override;
    awaitable<result<void>> connect_network(std::string network, std::string id, json::object endpoint) override;
    awaitable<result<void>> start_container(std::string id) override;
    awaitable<result<void>> stop_container(std::string id, std::chrono::seconds stop_timeout) override;
    awaitable<result<void>> rename_container(std::string id, std::string new_name) override;
    awaitable<result<void>> remove_container(std::string id, bool force) override;
    awaitable<result<swarm_info>> swarm_state() override;
    awaitable<result<std::vector<json::object>>> list_services(std::string filters) override;
    awaitable<result<json::object>> inspect_service(std::string id) override;
    awaitable<result<void>> update_service(std::string id, std::uint64_t version, json::object spec,
                                           std::string registry_auth) override;

private:
    awaitable<result<void>> negotiate();
    awaitable<result<response>> exchange(request_spec rq);
    awaitable<result<pull_totals>> pull_stream(request_spec rq, pull_observer on_progress);
    transport::outgoing make_request(const request_spec& rq) const;
    // One connection per request: the daemon is local, and a connection of its own keeps a slow
    // call (a stop waiting for its container) from holding up the others.
    awaitable<result<std::unique_ptr<transport::connection>>> open(const request_spec& rq)
    {
        return transport::connection::open(ex_, daemon_, timeouts(rq));
    }
    transport::step_timeouts timeouts(const request_spec& rq) const
    {
        return {settings_.connect_timeout, rq.read_timeout.count() > 0 ? rq.read_timeout : settings_.request_timeout};
    }

    // A call with a JSON answer: negotiates, sends, maps non-2xx (except `also_ok`) to errors.
    awaitable<result<response>> call(http::verb method, std::string path, std::string what, std::string body = {},
                                     unsigned also_ok = 0, std::chrono::milliseconds read_timeout = {},
                                     std::string registry_auth = {});
    // A GET whose answer must be a JSON T, json::object or json::array ("<what>: expected a JSON object").
    template <class T>
    awaitable<result<T>> call_json(std::string path, std::string what);

    asio::any_io_executor ex_;
    client_settings settings_;
    transport::endpoint daemon_;
    std::string prefix_;  // "/v1.45" once negotiated
};

transport::outgoing client::make_request(const request_spec& rq) const
{
    http::request<http::string_body> req{rq.method, rq.target, 11};
    // Go's HTTP server rejects HTTP/1.1 without Host; over the Unix socket any name does.
    std::string host = daemon_.host.find(':') != std::string::npos ? "[" + daemon_.host + "]" : daemon_.host;
    req.set(http::field::host, daemon_.socket_path.empty() ? host + ":" + daemon_.port : std::string("docker"));
    req.set(http::field::user_agent, user_agent());
    req.keep_alive(false);
    if (!rq.registry_auth.empty())
        req.set("X-Registry-Auth", rq.registry_auth);
    if (!rq.body.empty())
    {
        req.set(http::field::content_type, "application/json");
        req.body() = rq.body;
    }
    req.prepare_payload();
    return transport::serialize(req);
}

awaitable<result<response>> client::exchange(request_spec rq)
{
    auto conn = co_await open(rq);
    if (!conn)
        co_return conn.error();
    auto msg = co_await (*conn)->exchange(make_request(rq), json_body_limit, timeouts(rq));
    if (!msg)
        co_return msg.error().wrap(rq.what);
    co_return response{msg->result_int(), std::move(msg->body()), std::string(msg->base()["API-Version"])};
}

awaitable<result<response>> client::call(http::verb method, std::string path, std::string what, std::string body,
                                         unsigned also_ok, std::chrono::milliseconds read_timeout,
                                         std::string registry_auth)
{
    if (auto n = co_await negotiate(); !n)
        co_return n.error();
    request_spec rq;
    rq.method = method;
    rq.target = prefix_ + path;
    rq.body = std::move(body);
    rq.read_timeout = read_timeout;
    rq.registry_auth = std::move(registry_auth);
    rq.what = std::move(what);
    auto r = co_await exchange(rq);
    if (!r)
        co_return r.error();
    if ((r->status < 200 || r->status >= 300) && r->status != also_ok)
        co_return status_error(rq.what, r->status, r->body);
    co_return r;
}

template <class T>
awaitable<result<T>> client::call_json(std::string path, std::string what)
{
    auto r = co_await call(http::verb::get, std::move(path), what);
    if (!r)
        co_return r.error();
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    if (ec)
        co_return make_error(errc::bad_response, what + ": the Docker daemon answered invalid JSON: " + ec.message());
    constexpr bool object = std::is_same_v<T, json::object>;
    T* got = nullptr;
    if constexpr (object)
        got = v.if_object();
    else
        got = v.if_array();
    if (!got)
        co_return make_error(errc::bad_response,
                             what + (object ? ": expected a JSON object" : ": expected a JSON array"));
    co_return std::move(*got);
}

awaitable<result<void>> client::negotiate()
{
    if (!prefix_.empty())
        co_return result<void>{};
    co_return without_value(co_await ping());
}

awaitable<result<version_info>> client::ping()
{
    request_spec rq;
    rq.target = "/_ping";
    rq.what = "ping the Docker daemon";
    auto p = co_await exchange(rq);
    if (!p)
        co_return p.error();
    if (p->status != 200)
        co_return status_error(rq.what, p->status, p->body);

    rq.target = "/version";
    rq.what = "GET /version";
    auto r = co_await exchange(rq);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return status_error(rq.what, r->status, r->body);
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    if (ec || !v.is_object())
        co_return make_error(errc::bad_response, "GET /version: the Docker daemon answered invalid JSON");
    const json::object& o = v.get_object();
    const auto str = [&o](std::string_view key) { return string_field(o, key); };

    version_info info;
    info.engine_version = str("Version");
    info.os = str("Os");
    info.arch = str("Arch");
    std::string daemon_api = str("ApiVersion");
    if (daemon_api.empty())
        daemon_api = p->api_version;
    int daemon_minor = api_minor(daemon_api);
    int daemon_min_minor = api_minor(str("MinAPIVersion"));
    if (daemon_minor < 0)
        co_return make_error(errc::bad_response, "the Docker daemon at " + daemon_.authority +
                                                     " reports no usable API version (\"" + daemon_api + "\")");
    if (daemon_minor < api_min_minor)
        co_return make_error(errc::failed, "the Docker daemon at " + daemon_.authority + " (Engine " +
                                               info.engine_version + ") speaks API " + daemon_api +
                                               "; imagewatch needs API " + api_text(api_min_minor) +
                                               " or newer (Docker 20.10+)");
    if (daemon_min_minor > api_max_minor)
        co_return make_error(errc::failed, "the Docker daemon at " + daemon_.authority + " (Engine " +
                                               info.engine_version + ") requires API " + api_text(daemon_min_minor) +
                                               " or newer; imagewatch speaks up to " + api_text(api_max_minor));
    int minor = std::min(daemon_minor, api_max_minor);
    info.api_version = api_text(minor);
    if (prefix_.empty())
        log::info("docker: connected",
                  {{"host", daemon_.authority}, {"engine", info.engine_version}, {"api", info.api_version}});
    prefix_ = "/v" + info.api_version;
    co_return info;
}

awaitable<result<std::vector<container_summary>>> client::list_containers()
{
    auto arr = co_await call_json<json::array>("/containers/json?all=1", "list containers");
    if (!arr)
        co_return arr.error();
    std::vector<container_summary> out;
    out.reserve(arr->size());
    for (const auto& item : *arr)
    {
        const json::object* o = item.if_object();
        if (!o)
            continue;
        container_summary c;
        c.id = string_field(*o, "Id");
        c.image = string_field(*o, "Image");
        c.state = string_field(*o, "State");
        // Names also lists legacy link names ("/web/db"); the container's own has a single slash.
        if (auto it = o->find("Names"); it != o->end() && it->value().is_array())
            for (const auto& n : it->value().get_array())
                if (n.is_string())
                {
                    std::string_view s = n.get_string();
                    if (s.starts_with('/'))
                        s.remove_prefix(1);
                    if (s.find('/') == std::string_view::npos)
                    {
                        c.name = s;
                        break;
                    }
                }
        if (auto it = o->find("Labels"); it != o->end() && it->value().is_object())
            for (const auto& kv : it->value().get_object())
                if (kv.value().is_string())
                    c.labels.emplace(kv.key(), kv.value().get_string());
        out.push_back(std::move(c));
    }
    co_return out;
}

awaitable<result<json::object>> client::inspect_container(std::string id)
{
    co_return co_await call_json<json::object>("/containers/" + pct_encode(id) + "/json", "inspect container " + id);
}

awaitable<result<json::object>> client::inspect_image(std::string name_or_id)
{
    co_return co_await call_json<json::object>("/images/" + pct_encode(name_or_id, "/:@") + "/json",
                                               "inspect image " + name_or_id);
}

awaitable<result<pull_totals>> client::pull(image_ref ref, std::string platform, std::string registry_auth,
                                            std::chrono::milliseconds timeout, pull_observer on_progress)
{
    if (auto n = co_await negotiate(); !n)
        co_return n.error();
    std::string name = ref.registry.empty() ? ref.repository : ref.registry + "/" + ref.repository;
    // A digest goes in `tag` too: the Engine joins them as name@digest.
    std::string tag = !ref.digest.empty() ? ref.digest : ref.tag.empty() ? std::string("latest") : ref.tag;
    request_spec rq;
    rq.method = http::verb::post;
    rq.target = prefix_ + "/images/create?fromImage=" + pct_encode(name) + "&tag=" + pct_encode(tag);
    if (!platform.empty())
        rq.target += "&platform=" + pct_encode(platform);
    rq.registry_auth = std::move(registry_auth);
    rq.what = "pull " + name + (ref.tag.empty() ? "" : ":" + ref.tag) + (ref.digest.empty() ? "" : "@" + ref.digest);
    std::string what = rq.what;
    co_return co_await with_timeout(pull_stream(std::move(rq), std::move(on_progress)), timeout, what);
}

awaitable<result<pull_totals>> client::pull_stream(request_spec rq, pull_observer on_progress)
{
    auto conn = co_await open(rq);
    if (!conn)
        co_return conn.error();

    pull_progress progress;
    // Reported when a chunk arrives and a period has passed: Docker sends progress lines many
    // times a second while bytes move; a silent stream is the stall timeout's business.
    pace report(std::chrono::steady_clock::now(), settings_.pull_progress_every);
    std::string error_body;
    auto on_body = [&](unsigned status, std::string_view got) -> result<void> {
        if (status < 200 || status >= 300)
        {
            error_body.append(got.substr(0, error_body_limit - std::min(error_body_limit, error_body.size())));
            return {};
        }
        if (auto f = progress.feed(got); !f)
            return f.error();
        if (on_progress && report.due(std::chrono::steady_clock::now()))
            on_progress(progress.totals());
        return {};
    };
    // The stall timeout is each read's: a pull that keeps making progress is never cut off here
    // (the caller's overall deadline bounds it).
    auto status =
        co_await (*conn)->stream(make_request(rq), {settings_.connect_timeout, settings_.pull_stall_timeout}, on_body);
    if (!status)
        co_return status.error().wrap(rq.what);
    if (*status < 200 || *status >= 300)
    {
        // The Engine answers before streaming when the first registry request fails (404 for a missing tag).
        std::string msg = docker_message(error_body);
        errc code = *status == 404 ? errc::not_found : classify_pull_error(msg);
        co_return make_error(code,
                             rq.what + ": " + msg + (*status == 404 ? "" : " (HTTP " + std::to_string(*status) + ")"));
    }
    if (auto f = progress.finish(); !f)
        co_return f.error().wrap(rq.what);
    if (const auto& msg = progress.error_message())
        co_return make_error(classify_pull_error(*msg), rq.what + ": " + *msg);
    log::debug("docker: pull done", {{"op", rq.what}, {"status", progress.last_status()}});
    co_return progress.totals();
}

awaitable<result<std::string>> client::create_container(std::string name, json::object body)
{
    std::string what = "create container " + name;
    auto r =
        co_await call(http::verb::post, "/containers/create?name=" + pct_encode(name), what, json::serialize(body));
    if (!r)
        co_return r.error();
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::value* id = o ? o->if_contains("Id") : nullptr;
    if (!id || !id->is_string())
        co_return make_error(errc::bad_response, what + ": the Docker daemon's answer has no Id");
    if (auto w = o->find("Warnings"); w != o->end() && w->value().is_array())
        for (const auto& warning : w->value().get_array())
            if (warning.is_string())
                log::warn("docker: create warning",
                          {{"container", name}, {"warning", std::string(warning.get_string())}});
    co_return std::string(id->get_string());
}

awaitable<result<void>> client::connect_network(std::string network, std::string id, json::object endpoint)
{
    const json::object body{{"Container", id}, {"EndpointConfig", std::move(endpoint)}};
    co_return without_value(co_await call(http::verb::post, "/networks/" + pct_encode(network) + "/connect",
                                          "connect container " + id + " to network " + network, json::serialize(body)));
}

awaitable<result<void>> client::start_container(std::string id)
{
    co_return without_value(
        co_await call(http::verb::post, "/containers/" + pct_encode(id) + "/start", "start container " + id, {}, 304));
}

awaitable<result<void>> client::stop_container(std::string id, std::chrono::seconds stop_timeout)
{
    // The daemon answers only once the container has stopped (or was killed after t seconds).
    stop_timeout = std::clamp(stop_timeout, std::chrono::seconds(0), max_stop_timeout);
    auto read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(stop_timeout) + settings_.request_timeout;
    co_return without_value(co_await call(
        http::verb::post, "/containers/" + pct_encode(id) + "/stop?t=" + std::to_string(stop_timeout.count()),
        "stop container " + id, {}, 304, read_timeout));
}

awaitable<result<void>> client::rename_container(std::string id, std::string new_name)
{
    co_return without_value(co_await call(http::verb::post,
                                          "/containers/" + pct_encode(id) + "/rename?name=" + pct_encode(new_name),
                                          "rename container " + id + " to " + new_name));
}

awaitable<result<void>> client::remove_container(std::string id, bool force)
{
    co_return without_value(co_await call(http::verb::delete_,
                                          "/containers/" + pct_encode(id) + (force ? "?force=1" : "?force=0"),
                                          "remove container " + id));
}

awaitable<result<swarm_info>> client::swarm_state()
{
    auto o = co_await call_json<json::object>("/info", "GET /info");
    if (!o)
        co_return o.error();
    swarm_info info;
    if (const auto* sw = object_field(*o, "Swarm"))
    {
        info.local_node_state = string_field(*sw, "LocalNodeState");
        info.control_available = bool_field(sw, "ControlAvailable");
        info.error = string_field(*sw, "Error");
    }
    co_return info;
}

awaitable<result<std::vector<json::object>>> client::list_services(std::string filters)
{
    std::string path = "/services";
    if (!filters.empty())
        path += "?filters=" + pct_encode(filters);
    auto arr = co_await call_json<json::array>(path, "list services");
    if (!arr)
        co_return arr.error();
    std::vector<json::object> out;
    for (const auto& item : *arr)
        if (const auto* o = item.if_object())
            out.push_back(*o);
    co_return out;
}

awaitable<result<json::object>> client::inspect_service(std::string id)
{
    co_return co_await call_json<json::object>("/services/" + pct_encode(id), "inspect service " + id);
}

awaitable<result<void>> client::update_service(std::string id, std::uint64_t version, json::object spec,
                                               std::string registry_auth)
{
    co_return without_value(
        co_await call(http::verb::post, "/services/" + pct_encode(id) + "/update?version=" + std::to_string(version),
                      "update service " + id, json::serialize(spec), 0, {}, std::move(registry_auth)));
}

}  // namespace

result<std::unique_ptr<api>> make_client(asio::any_io_executor ex, client_settings settings)
{
    if (!settings.host.is_unix() && settings.host.host.empty())
        return make_error(errc::invalid_argument, "no Docker daemon address (a Unix socket path or a TCP host)");
    auto daemon = daemon_endpoint(settings.host);
    return std::unique_ptr<api>(std::make_unique<client>(std::move(ex), std::move(settings), std::move(daemon)));
}

}  // namespace imagewatch::docker
