#include "config/parse.hpp"

#include "core/host_port.hpp"
#include "core/small_file.hpp"
#include "core/text.hpp"
#include "image/registry_host.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace imagewatch::config {

namespace json = boost::json;

namespace {

using issues = std::vector<issue>;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(std::string_view path, std::string_view key)
{
    return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

// "a string \"yes\"", "a number 300", "an object": what the operator wrote, for wrong-type messages.
std::string describe(const json::value& v)
{
    if (v.is_null())
        return "null";
    if (v.is_bool())
        return "a boolean";
    if (v.is_array())
        return "an array";
    if (v.is_object())
        return "an object";
    auto text = json::serialize(v);
    return (v.is_string() ? "a string " : "a number ") + (text.size() > 40 ? utf8_excerpt(text, 37) : text);
}

// Edit distance counting a swap of two neighbours as one edit ("hots" -> "host"), as typos go.
std::size_t edit_distance(std::string_view a, std::string_view b)
{
    const std::size_t w = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * w);
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i * w] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j)
        {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            std::size_t v = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = std::min(v, d[(i - 2) * w + j - 2] + 1);
            d[i * w + j] = v;
        }
    return d[a.size() * w + b.size()];
}

// A known key close enough to an unknown one to suggest: a typo or a missing/extra suffix.
std::string_view closest_key(std::string_view key, std::initializer_list<std::string_view> known)
{
    std::string_view best;
    std::size_t best_d = 3;
    for (auto k : known)
    {
        auto d = edit_distance(key, k);
        if (d < best_d && d * 2 < std::max(key.size(), k.size()))
        {
            best_d = d;
            best = k;
        }
    }
    if (best.empty() && key.size() >= 4)
        for (auto k : known)
            if (k.starts_with(key) || key.starts_with(k))
                return k;
    return best;
}

// [A-Za-z_][A-Za-z0-9_]* — what a shell accepts as a variable name.
bool valid_env_name(std::string_view s)
{
    if (s.empty() || is_digit(s[0]))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// A host name (dotted labels of [A-Za-z0-9-]) or, when it is all digits and dots, an IPv4 address.
bool valid_host(std::string_view h)
{
    if (h.empty() || h.size() > 253)
        return false;
    bool numeric = std::all_of(h.begin(), h.end(), [](char c) { return is_digit(c) || c == '.'; });
    const auto labels = split(h, '.');
    for (auto label : labels)
    {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        if (!std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
            return false;
        if (numeric)
        {
            unsigned octet = 0;
            auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), octet);
            if (ec != std::errc{} || end != label.data() + label.size() || octet > 255)
                return false;
        }
    }
    return !numeric || labels.size() == 4;
}

bool valid_ipv6(std::string_view h)
{
    return !h.empty() && h.find(':') != std::string_view::npos && std::all_of(h.begin(), h.end(), [](char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    });
}

// Why the host of a TCP address is not one, or empty.
std::string check_tcp_host(const host_port& hp)
{
    if (hp.bracketed)
        return valid_ipv6(hp.host) ? "" : "malformed IPv6 address";
    if (hp.host.empty())
        return "missing host";
    if (hp.host.find(':') != std::string_view::npos)
        return "an IPv6 address needs brackets";
    if (!valid_host(hp.host))
        return "invalid host " + quoted(hp.host);
    return {};
}

// Why a Unix socket path cannot be bound or connected to, or empty.
std::string check_socket_path(std::string_view p)
{
    if (!p.starts_with('/'))
        return "unix socket path must be absolute";
    if (p.size() >= sizeof(sockaddr_un::sun_path))
        return "unix socket path longer than " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes";
    return {};
}

// "os/arch[/variant]", lower-case.
bool valid_platform(std::string_view s)
{
    const auto parts = split(s, '/');
    const auto part_ok = [](std::string_view p) {
        return !p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return is_lower_alnum(c) || c == '_'; });
    };
    return (parts.size() == 2 || parts.size() == 3) && std::all_of(parts.begin(), parts.end(), part_ok);
}

// [a-z0-9][a-z0-9._-]* (docs/configuration.md "runtimes").
bool valid_runtime_name(std::string_view s)
{
    if (s.empty() || !is_lower_alnum(s[0]))
        return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// Docker container names are [a-zA-Z0-9][a-zA-Z0-9_.-]*; a prefix that cannot start one never matches.
std::string check_name_prefix(std::string_view s)
{
    if (s.empty())
        return {};
    if (s[0] == '/')
        return "must not start with '/' (write the name as `docker ps` shows it)";
    if (!is_alnum(s[0]))
        return "must start with a letter or digit";
    if (!std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }))
        return "may contain only letters, digits, '_', '.' and '-'";
    return {};
}

// Walks the JSON value tree and fills a config, recording every problem it meets.
class reader
{
public:
    explicit reader(issues& out) : out_(out) {}

    void add(std::string field, std::string message)
    {
        out_.push_back(issue{0, 0, std::move(field), std::move(message)});
    }

    const json::object* as_object(const json::value& v, const std::string& path)
    {
        if (const auto* o = v.if_object())
            return o;
        add(path, "expected an object, got " + describe(v));
        return nullptr;
    }

    // v as an object whose keys are all in `known` (the others are reported); nullptr when not one.
    const json::object* object_of(const json::value& v, const std::string& path,
                                  std::initializer_list<std::string_view> known)
    {
        const auto* o = as_object(v, path);
        if (o)
            known_keys(*o, path, known);
        return o;
    }

    // A top-level section: when root has `key`, an object of `known` keys that body reads.
    template <class Body>
    void section(const json::object& root, std::string_view key, std::initializer_list<std::string_view> known,
                 Body body)
    {
        const std::string path(key);
        if (const auto* v = root.if_contains(key))
            if (const auto* o = object_of(*v, path, known))
                body(*o, path);
    }

    // Unknown keys are errors so that typos do not silently fall back to defaults.
    void known_keys(const json::object& obj, const std::string& path, std::initializer_list<std::string_view> known)
    {
        for (const auto& kv : obj)
        {
            std::string_view key = kv.key();
            if (std::find(known.begin(), known.end(), key) != known.end())
                continue;
            std::string msg = "unknown key " + quoted(key);
            auto best = closest_key(key, known);
            if (!best.empty())
                msg += " (did you mean " + quoted(best) + "?)";
            add(join(path, key), std::move(msg));
        }
    }

    // A string (T = std::string) or boolean (T = bool) member: false when absent or of another kind
    // (reported).
    template <class T>
    bool read(const json::object& obj, const std::string& path, std::string_view key, T& out)
    {
        constexpr bool boolean = std::is_same_v<T, bool>;
        const auto* v = obj.if_contains(key);
        if (!v)
            return false;
        if (boolean ? !v->is_bool() : !v->is_string())
        {
            add(join(path, key), (boolean ? "expected true or false, got " : "expected a string, got ") + describe(*v));
            return false;
        }
        if constexpr (boolean)
            out = v->get_bool();
        else
            out = std::string_view(v->get_string());
        return true;
    }

    void read_address(const json::object& obj, const std::string& path, std::string_view key,
                      result<socket_address> (*parse)(std::string_view), socket_address& out)
    {
        std::string text;
        if (!read(obj, path, key, text))
            return;
        if (auto a = parse(text))
            out = std::move(*a);
        else
            add(join(path, key), a.error().message);
    }

    void read_duration(const json::object& obj, const std::string& path, std::string_view key, duration& out,
                       bool allow_zero)
    {
        const auto* v = obj.if_contains(key);
        if (!v)
            return;
        const auto* s = v->if_string();
        if (!s)
        {
            add(join(path, key), "expected a duration string like \"30s\" or \"5m\", got " + describe(*v));
            return;
        }
        auto d = parse_duration(std::string_view(s->data(), s->size()));
        if (!d)
            add(join(path, key), d.error().message);
        else if (!allow_zero && d->count() <= 0)
            add(join(path, key), "must be positive, got " + quoted(std::string_view(s->data(), s->size())));
        else
            out = *d;
    }

    void read_env_name(const json::object& obj, const std::string& path, std::string_view key, std::string& out)
    {
        if (read(obj, path, key, out) && !out.empty() && !valid_env_name(out))
            add(join(path, key),
                "invalid environment variable name " + quoted(out) + " (expected [A-Za-z_][A-Za-z0-9_]*)");
    }

    void read_selector(const json::value& v, const std::string& path, selector& out)
    {
        const auto* o = object_of(v, path, {"name_prefix", "label"});
        if (!o)
            return;
        if (read(*o, path, "name_prefix", out.name_prefix))
            if (auto why = check_name_prefix(out.name_prefix); !why.empty())
                add(join(path, "name_prefix"), quoted(out.name_prefix) + " " + why);
        if (read(*o, path, "label", out.label) && !out.label.empty())
            if (out.label.front() == '=' || out.label.find_first_of(" \t\n") != std::string::npos)
                add(join(path, "label"), "expected \"key=value\" or \"key\", got " + quoted(out.label));
    }

    void read_registries(const json::value& v, std::map<std::string, registry_settings, std::less<>>& out)
    {
        const std::string path = "registries";
        const auto* o = as_object(v, path);
        if (!o)
            return;
        for (const auto& kv : *o)
        {
            std::string key(kv.key());
            const std::string entry_path = join(path, key);
            // A key is valid when it is exactly what image references name as their registry;
            // "index.docker.io" is kept as docker.io like in image references.
            auto ref = parse_image_ref(key + "/x");
            bool host_ok = ref && (ref->registry == key || (key == docker_hub_index && ref->registry == docker_hub));
            if (!host_ok)
            {
                add(entry_path, "registry key " + quoted(key) +
                                    " is not a registry host[:port] (like \"ghcr.io\", \"registry.example:5443\" or "
                                    "\"127.0.0.1:5000\")");
                continue;
            }
            registry_settings rs;
            if (const auto* e =
                    object_of(kv.value(), entry_path, {"username_env", "password_env", "ca_file", "insecure_http"}))
            {
                read_env_name(*e, entry_path, "username_env", rs.username_env);
                read_env_name(*e, entry_path, "password_env", rs.password_env);
                if (rs.username_env.empty() != rs.password_env.empty())
                    add(entry_path, "set both username_env and password_env, or neither");
                read(*e, entry_path, "ca_file", rs.ca_file);
                read(*e, entry_path, "insecure_http", rs.insecure_http);
            }
            if (!out.emplace(ref->registry, std::move(rs)).second)
                add(entry_path, "duplicate entry for registry " + quoted(ref->registry));
        }
    }

    // A number in [lo, hi]; for an integral T a whole number written without a fraction (3, not 3.0).
    template <class T>
    void read_number(const json::object& obj, const std::string& path, std::string_view key, T& out, T lo, T hi,
                     std::string_view expected)
    {
        const auto* v = obj.if_contains(key);
        if (!v)
            return;
        boost::system::error_code ec;
        const T n = v->to_number<T>(ec);
        if (ec || (std::is_integral_v<T> && v->is_double()) || n < lo || n > hi)
            add(join(path, key), std::string(expected) + ", got " + describe(*v));
        else
            out = n;
    }

    // rollout {parallelism, canary, max_failures, window}: the keys present override `out`.
    void read_rollout(const json::value& v, const std::string& path, rollout_settings& out)
    {
        const auto* o = object_of(v, path, {"parallelism", "canary", "max_failures", "window"});
        if (!o)
            return;
        read_number(*o, path, "parallelism", out.parallelism, 1, 64, "expected a whole number from 1 to 64");
        read_number(*o, path, "canary", out.canary, 0, 1000, "expected a whole number from 0 to 1000");
        read_number(*o, path, "max_failures", out.max_failures, 0.0, 1.0,
                    "expected a failure ratio from 0 to 1 (0.2 = a batch with more than a fifth failed halts)");
        std::string text;
        if (read(*o, path, "window", text))
        {
            if (text.empty())
                out.window.reset();
            else if (auto w = parse_window(text); !w)
                add(join(path, "window"), w.error().message);
            else
                out.window = *w;
        }
    }

    // min_age and mode: at the top level (defaults) and in a runtime (its override).
    void read_rollout_keys(const json::object& o, const std::string& path, rollout_settings& out)
    {
        read_duration(o, path, "min_age", out.min_age, true);
        std::string mode;
        if (read(o, path, "mode", mode))
        {
            if (mode == "update")
                out.mode = rollout_mode::update;
            else if (mode == "notify")
                out.mode = rollout_mode::notify;
            else
                add(join(path, "mode"), "expected \"update\" or \"notify\", got " + quoted(mode));
        }
        if (const auto* r = o.if_contains("rollout"))
            read_rollout(*r, join(path, "rollout"), out);
    }

    // A services selector: the container selector's shape, but an unset name_prefix means any
    // name (which services exist is Swarm's business; no naming convention is assumed).
    void read_services(const json::value& v, const std::string& path, std::optional<selector>& out)
    {
        if (!out)
            out = selector{.name_prefix = "", .label = ""};
        read_selector(v, path, *out);
    }

    void read_runtimes(const json::value& v, const selector& defaults, const std::optional<selector>& service_defaults,
                       const rollout_settings& rollout, std::vector<runtime>& out)
    {
        const auto* a = v.if_array();
        if (!a)
        {
            add("runtimes", "expected an array, got " + describe(v));
            return;
        }
        std::map<std::string, std::size_t, std::less<>> seen;
        for (std::size_t i = 0; i < a->size(); ++i)
        {
            const std::string path = "runtimes[" + std::to_string(i) + "]";
            const auto* o =
                object_of((*a)[i], path, {"name", "image", "containers", "services", "rollout", "min_age", "mode"});
            if (!o)
                continue;
            runtime rt;
            rt.containers = defaults;
            rt.services = service_defaults;
            rt.rollout = rollout;
            read_rollout_keys(*o, path, rt.rollout);
            if (!o->contains("name"))
                add(join(path, "name"), "required");
            else if (read(*o, path, "name", rt.name))
            {
                if (!valid_runtime_name(rt.name))
                    add(join(path, "name"),
                        "invalid runtime name " + quoted(rt.name) + " (expected [a-z0-9][a-z0-9._-]*)");
                else if (auto [it, fresh] = seen.emplace(rt.name, i); !fresh)
                    add(join(path, "name"), "duplicate runtime name " + quoted(rt.name) + " (also runtimes[" +
                                                std::to_string(it->second) + "])");
            }
            std::string image;
            if (!o->contains("image"))
                add(join(path, "image"), "required");
            else if (read(*o, path, "image", image))
            {
                if (auto ref = parse_image_ref(image); !ref)
                    add(join(path, "image"), ref.error().message);
                else if (!ref->digest.empty())
                    add(join(path, "image"),
                        quoted(image) + " is pinned to a digest, which never changes; watch a tag instead");
                else
                    rt.image = *ref;
            }
            if (const auto* c = o->if_contains("containers"))
                read_selector(*c, join(path, "containers"), rt.containers);
            if (const auto* c = o->if_contains("services"))
                read_services(*c, join(path, "services"), rt.services);
            out.push_back(std::move(rt));
        }
    }

    void read_root(const json::value& root, config& cfg)
    {
        const auto* o = root.if_object();
        if (!o)
        {
            add("", "the config must be a JSON object, got " + describe(root));
            return;
        }
        known_keys(*o, "",
                   {"watch", "admin", "docker", "timeouts", "registries", "docker_config", "containers", "services",
                    "runtimes", "notify", "hooks", "rollout", "min_age", "mode"});
        section(*o, "watch", {"enabled", "interval", "jitter", "apply_on_start"}, [&](const auto& s, const auto& p) {
            read(s, p, "enabled", cfg.watch.enabled);
            read_duration(s, p, "interval", cfg.watch.interval, false);
            read_duration(s, p, "jitter", cfg.watch.jitter, true);
            read(s, p, "apply_on_start", cfg.watch.apply_on_start);
        });
        section(*o, "admin", {"listen", "token_env", "token_file", "metrics_public"},
                [&](const auto& s, const auto& p) {
                    read_address(s, p, "listen", parse_listen, cfg.admin.listen);
                    read_env_name(s, p, "token_env", cfg.admin.token_env);
                    read(s, p, "token_file", cfg.admin.token_file);
                    read(s, p, "metrics_public", cfg.admin.metrics_public);
                });
        section(*o, "docker", {"host", "platform"}, [&](const auto& s, const auto& p) {
            read_address(s, p, "host", parse_docker_host, cfg.docker.host);
            auto& platform = cfg.docker.platform;
            if (read(s, p, "platform", platform) && !platform.empty() && !valid_platform(platform))
                add("docker.platform", "expected \"os/arch[/variant]\" like \"linux/amd64\", got " + quoted(platform));
        });
        section(*o, "timeouts", {"connect", "request", "pull", "stop_default", "health", "shutdown", "service_update"},
                [&](const auto& s, const auto& p) {
                    auto& t = cfg.timeouts;
                    read_duration(s, p, "connect", t.connect, false);
                    read_duration(s, p, "request", t.request, false);
                    read_duration(s, p, "pull", t.pull, false);
                    read_duration(s, p, "stop_default", t.stop_default, false);
                    read_duration(s, p, "health", t.health, false);
                    read_duration(s, p, "shutdown", t.shutdown, false);
                    read_duration(s, p, "service_update", t.service_update, false);
                });
        if (const auto* v = o->if_contains("registries"))
            read_registries(*v, cfg.registries);
        read(*o, "", "docker_config", cfg.docker_config);
        // The top-level selector first: every runtime's selector starts as a copy of it.
        if (const auto* v = o->if_contains("containers"))
            read_selector(*v, "containers", cfg.containers);
        if (const auto* v = o->if_contains("services"))
            read_services(*v, "services", cfg.services);
        // Likewise the rollout defaults: every runtime's rollout starts as a copy of them.
        read_rollout_keys(*o, "", cfg.rollout);
        if (const auto* v = o->if_contains("runtimes"))
            read_runtimes(*v, cfg.containers, cfg.services, cfg.rollout, cfg.runtimes);
        section(*o, "notify", {"webhook_url"}, [&](const auto& s, const auto& p) {
            auto& url = cfg.notify.webhook_url;
            if (read(s, p, "webhook_url", url) && !url.empty() && !url.starts_with("http://") &&
                !url.starts_with("https://"))
                add("notify.webhook_url", "expected an http:// or https:// URL, got " + quoted(url));
        });
        section(*o, "hooks", {"github_secret_env", "registry_token_env"}, [&](const auto& s, const auto& p) {
            read_env_name(s, p, "github_secret_env", cfg.hooks.github_secret_env);
            read_env_name(s, p, "registry_token_env", cfg.hooks.registry_token_env);
        });
    }

private:
    issues& out_;
};

// Line and column (1-based, columns in UTF-8 characters) of a byte offset.
issue syntax_issue(std::string_view text, std::size_t offset, std::string message)
{
    issue i;
    i.line = 1;
    i.column = 1;
    for (std::size_t k = 0; k < offset && k < text.size(); ++k)
    {
        auto c = static_cast<unsigned char>(text[k]);
        if (c == '\n')
        {
            ++i.line;
            i.column = 1;
        }
        else if ((c & 0xC0) != 0x80)
            ++i.column;
    }
    i.message = std::move(message);
    return i;
}

// What the parser stopped at, for the message: one UTF-8 character, or "end of file".
std::string found_at(std::string_view text, std::size_t offset)
{
    if (offset >= text.size())
        return "end of file";
    std::size_t n = 1;
    while (offset + n < text.size() && (static_cast<unsigned char>(text[offset + n]) & 0xC0) == 0x80 && n < 4)
        ++n;
    auto c = text.substr(offset, n);
    if (c == "\n" || c == "\r")
        return "end of line";
    return "'" + std::string(c) + "'";
}

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name)
{
    auto v = env ? env(name) : std::nullopt;
    if (v && v->empty())
        return std::nullopt;
    return v;
}

void apply_env(const env_lookup& env, config& cfg, issues& out)
{
    if (auto v = non_empty(env, "IMAGE_AUTO_REFRESH"))
    {
        if (const bool on = iequals_ascii(*v, "true"); on || iequals_ascii(*v, "false"))
            cfg.watch.enabled = on;
        else
            out.push_back(issue{0, 0, "IMAGE_AUTO_REFRESH", "expected true or false (any case), got " + quoted(*v)});
    }
    if (auto v = non_empty(env, "DOCKER_HOST"))
    {
        if (auto h = parse_docker_host(*v))
            cfg.docker.host = std::move(*h);
        else
            out.push_back(issue{0, 0, "DOCKER_HOST", h.error().message});
    }
    if (auto v = non_empty(env, "IMAGE_PLATFORM"))
    {
        if (!valid_platform(*v))
            out.push_back(issue{0, 0, "IMAGE_PLATFORM",
                                "expected \"os/arch[/variant]\" like \"linux/amd64\", got " + quoted(*v)});
        else
            cfg.docker.platform = *v;
    }
}

// Every issue as format_issue shows it, one per line.
std::string format_issues(std::string_view path, const issues& found)
{
    std::string msg;
    for (const auto& i : found)
        msg += (msg.empty() ? "" : "\n") + format_issue(path, i);
    return msg;
}

}  // namespace

void throw_exception_from_error(const std::vector<issue>& issues, const boost::source_location&)
{
    throw std::runtime_error(format_issues("config", issues));
}

boost::system::result<config, std::vector<issue>> parse(std::string_view text, const env_lookup& env)
{
    // Editors on some systems save a UTF-8 byte order mark; it is not JSON but is harmless.
    std::size_t skipped = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    std::string_view body = text.substr(skipped);

    json::parse_options opts;
    opts.allow_comments = true;
    opts.allow_trailing_commas = true;
    json::stream_parser p(json::storage_ptr(), opts);
    boost::system::error_code ec;
    // write_some stops at the failing byte, which gives the error's position.
    std::size_t used = p.write_some(body.data(), body.size(), ec);
    if (ec)
        return issues{
            syntax_issue(text, skipped + used, "invalid JSON: " + ec.message() + " at " + found_at(body, used))};
    if (p.done() && used < body.size())
        return issues{
            syntax_issue(text, skipped + used,
                         "invalid JSON: unexpected " + found_at(body, used) + " after the end of the document")};
    p.finish(ec);
    if (ec == json::error::incomplete)
        return issues{syntax_issue(text, text.size(),
                                   "invalid JSON: unexpected end of file (an unclosed string, object or array?)")};
    if (ec)
        return issues{syntax_issue(text, text.size(), "invalid JSON: " + ec.message() + " at end of file")};
    json::value root = p.release();

    config cfg;
    issues found;
    reader r(found);
    r.read_root(root, cfg);
    apply_env(env, cfg, found);
    if (!found.empty())
        return found;
    return cfg;
}

std::string format_issue(std::string_view path, const issue& i)
{
    std::string out(path);
    if (i.line > 0)
        return out + ":" + std::to_string(i.line) + ":" + std::to_string(i.column) + ": " + i.message;
    if (!i.field.empty())
        out += ": " + i.field;
    return out + ": " + i.message;
}

result<std::string> read_text(const std::string& path) { return read_small_regular_file(path, max_config_size); }

result<config> load_file(const std::string& path, const env_lookup& env, std::string* text_out)
{
    auto text = read_text(path);
    if (!text)
        return text.error();
    if (text_out)
        *text_out = *text;
    return parse_file(path, *text, env);
}

result<config> parse_file(std::string_view path, std::string_view text, const env_lookup& env)
{
    auto parsed = parse(text, env);
    if (parsed)
        return std::move(*parsed);
    return make_error(errc::invalid_argument, format_issues(path, parsed.error()));
}

std::string config_hash(std::string_view text)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    return "sha256:" + hex_lower(md, len);
}

std::string default_config_path(const env_lookup& env)
{
    if (auto v = non_empty(env, "IMAGEWATCH_CONFIG"))
        return *v;
    return "/etc/imagewatch/config.json";
}

result<socket_address> parse_listen(std::string_view s)
{
    const auto bad = [&](std::string why) {
        return make_error(errc::invalid_argument,
                          "invalid listen address " + quoted(s) + ": " + why +
                              " (expected \"HOST:PORT\", \"[IPv6]:PORT\" or \"unix:/absolute/path.sock\")");
    };
    socket_address out;
    out.text = s;
    if (s.starts_with("unix:"))
    {
        auto p = s.substr(5);
        // Also accept the DOCKER_HOST-style "unix:///abs/path".
        if (p.starts_with("///"))
            p.remove_prefix(2);
        if (auto why = check_socket_path(p); !why.empty())
            return bad(why);
        out.unix_path = p;
        return out;
    }
    if (s.find("://") != std::string_view::npos)
        return bad("no URL scheme here");
    auto hp = split_host_port(s);
    if (!hp)
        return bad(hp.error().message);
    if (!hp->has_port)
        return bad("missing port");
    if (auto why = check_tcp_host(*hp); !why.empty())
        return bad(hp->host.empty() ? why + " (use \"0.0.0.0:PORT\" for all interfaces)" : why);
    auto port = parse_port(hp->port);
    if (!port)
        return bad("port must be 1-65535");
    out.host = hp->host;
    out.port = *port;
    return out;
}

result<socket_address> parse_docker_host(std::string_view s)
{
    const auto bad = [&](std::string why) {
        return make_error(errc::invalid_argument,
                          quoted(s) + ": " + why +
                              " (expected \"unix:///path/to/docker.sock\" or \"tcp://host:port\")");
    };
    socket_address out;
    out.text = s;
    if (s.starts_with("unix://"))
    {
        if (auto why = check_socket_path(s.substr(7)); !why.empty())
            return bad(why);
        out.unix_path = s.substr(7);
        return out;
    }
    if (!s.starts_with("tcp://"))
        return bad("unsupported scheme");
    auto rest = s.substr(6);
    if (rest.ends_with('/'))
        rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos)
        return bad("a path after host:port is not supported");
    auto hp = split_host_port(rest);
    if (!hp)
        return bad(hp.error().message);
    if (auto why = check_tcp_host(*hp); !why.empty())
        return bad(why);
    out.host = hp->host;
    auto port = hp->has_port ? parse_port(hp->port) : std::uint16_t{2375};  // Docker's plain-HTTP port
    if (!port)
        return bad(hp->port.empty() ? "empty port" : "invalid port " + quoted(hp->port));
    out.port = *port;
    return out;
}

}  // namespace imagewatch::config
