#pragma once
// Shared pieces of the registry client io tests: references, settings, fake registries (bearer and
// per-scope token flows), an index builder and a log capture.
#include "core/log.hpp"
#include "registry/client.hpp"

#include "support/fake_http_server.hpp"
#include "support/log_capture.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace imagewatch::test {

using namespace std::chrono_literals;

inline const std::string digest_a = "sha256:" + std::string(64, 'a');
inline const std::string tls_dir = IMAGEWATCH_TEST_DATA "/registry/tls";

inline image_ref ref_at(const std::string& registry, std::string repository = "test/app", std::string tag = "latest")
{
    return image_ref{registry, std::move(repository), std::move(tag), ""};
}

// Plain HTTP everywhere (insecure_http), credentials for every host when given.
inline registry::client_settings insecure_settings(std::optional<registry::credentials> creds = std::nullopt)
{
    registry::client_settings s;
    s.connect_timeout = 2s;
    s.request_timeout = 2s;
    s.host_options_for = [creds](std::string_view) { return registry::host_options{"", true, creds}; };
    return s;
}

using exchange_record = std::tuple<std::string, std::string, unsigned>;  // host, method, status

// insecure_settings() that also record every exchange the client reports, in order.
inline registry::client_settings recording_settings(std::vector<exchange_record>& seen)
{
    auto s = insecure_settings();
    s.on_request = [&seen](std::string_view h, std::string_view m, unsigned st) {
        seen.emplace_back(std::string(h), std::string(m), st);
    };
    return s;
}

// A single-platform manifest answer to HEAD.
inline fake_http_server::response head_ok(const std::string& digest)
{
    auto res = make_response(
        200, {{"Docker-Content-Digest", digest}, {"Content-Type", "application/vnd.oci.image.manifest.v1+json"}});
    res.content_length = 1234;  // what a real HEAD says; the client must not wait for that body
    return res;
}

// A token-protected registry: /token hands out "tok-<n>" (with Basic admin:secret required when
// `require_basic`), manifests answer only to the current token.
struct bearer_registry
{
    std::string realm;  // set once the port is known
    std::string digest = digest_a;
    int tokens_issued = 0;
    bool require_basic = false;
    bool reject_tokens = false;

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string target(req.target);
        if (target.starts_with("/token"))
        {
            if (require_basic && req["Authorization"] != "Basic YWRtaW46c2VjcmV0")
                return make_response(401, {}, R"({"details":"bad credentials"})");
            ++tokens_issued;
            return make_response(200, {{"Content-Type", "application/json"}},
                                 R"({"token":"tok-)" + std::to_string(tokens_issued) + R"(","expires_in":300})");
        }
        std::string expected = "Bearer tok-" + std::to_string(tokens_issued);
        if (tokens_issued == 0 || reject_tokens || req["Authorization"] != expected)
            return make_response(401,
                                 {{"WWW-Authenticate", "Bearer realm=\"" + realm +
                                                           "\",service=\"fake\",scope=\"repository:test/app:pull\"" +
                                                           (reject_tokens ? ",error=\"insufficient_scope\"" : "")}});
        return head_ok(digest);
    }
};

// The token server half of scoped_registry: every GET /token?...&scope=S issues a new "tok-<n>"
// valid for S only, with lifetime expires_in.
struct scoped_tokens
{
    int expires_in = 300;
    int issued = 0;
    std::map<std::string, std::string> scope_of;  // token -> scope
    std::vector<std::string> scopes_requested;

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string target(req.target);
        auto at = target.find("scope=");
        std::string scope = at == std::string::npos ? "" : target.substr(at + 6, target.find('&', at) - at - 6);
        scopes_requested.push_back(scope);
        std::string tok = "tok-" + std::to_string(++issued);
        scope_of[tok] = scope;
        return make_response(200, {{"Content-Type", "application/json"}},
                             R"({"token":")" + tok + R"(","expires_in":)" + std::to_string(expires_in) + "}");
    }
};

// A registry whose manifests (any repository) answer to a token for that repository's pull scope
// only. answer(req) gives the answer once authorised (default: head_ok(digest_a)).
struct scoped_registry
{
    std::string realm;
    scoped_tokens* tokens = nullptr;
    std::function<std::optional<fake_http_server::response>(const fake_http_server::request&)> answer;

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string target(req.target);
        auto repo = target.substr(4, target.find("/manifests/") - 4);  // "/v2/<repo>/manifests/<ref>"
        std::string scope = "repository:" + repo + ":pull";
        auto auth = std::string(req["Authorization"]);
        bool ok = auth.starts_with("Bearer ") && tokens->scope_of.count(auth.substr(7)) &&
                  tokens->scope_of[auth.substr(7)] == scope;
        if (!ok)
            return make_response(
                401, {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake\",scope=\"" + scope + "\""}});
        return answer ? answer(req) : head_ok(digest_a);
    }
};

// An OCI index (or Docker manifest list) body with one entry per (digest, "os/arch[/variant]"),
// plus optional extra raw entries (attestations...).
inline std::string index_json(std::vector<std::pair<std::string, std::string>> entries,
                              std::vector<boost::json::value> extra = {},
                              std::string media_type = "application/vnd.oci.image.index.v1+json")
{
    boost::json::array manifests;
    for (const auto& [digest, plat] : entries)
    {
        boost::json::object p;
        auto first = plat.find('/'), second = plat.find('/', first + 1);
        p["os"] = plat.substr(0, first);
        p["architecture"] =
            plat.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
        if (second != std::string::npos)
            p["variant"] = plat.substr(second + 1);
        manifests.push_back(boost::json::object{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                                {"digest", digest},
                                                {"size", 1234},
                                                {"platform", std::move(p)}});
    }
    for (auto& e : extra)
        manifests.push_back(std::move(e));
    return boost::json::serialize(
        boost::json::object{{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", std::move(manifests)}});
}

}  // namespace imagewatch::test
