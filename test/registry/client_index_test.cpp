// registry::client::resolve against a fake registry whose tag is an OCI index or a Docker manifest
// list: the index is fetched by digest, verified, and the platform's child is the effective digest.
#include "registry/client.hpp"

#include "registry/manifest.hpp"
#include "support/run_coro.hpp"

#include "client_fixtures.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::registry;
using namespace imagewatch::test;
using namespace std::chrono_literals;

namespace {

const std::string child_amd64 = "sha256:" + std::string(64, '1');
const std::string child_arm64 = "sha256:" + std::string(64, '2');
const std::string oci_index = "application/vnd.oci.image.index.v1+json";
const std::string docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";

// Serves `body` as the manifest of tag "multi" (HEAD by tag, GET by digest) with content type
// `type`; `announced` is the digest the HEAD claims (default: the body's real digest).
struct index_registry
{
    std::string body;
    std::string type = oci_index;
    std::string announced;

    std::string digest() const { return announced.empty() ? content_digest(body).value() : announced; }

    std::optional<fake_http_server::response> operator()(const fake_http_server::request& req)
    {
        std::string target(req.target);
        if (req.method == "HEAD" && target == "/v2/test/app/manifests/multi")
        {
            auto res = make_response(200, {{"Docker-Content-Digest", digest()}, {"Content-Type", type}});
            res.content_length = body.size();
            return res;
        }
        if (req.method == "GET" && target == "/v2/test/app/manifests/" + digest())
            return make_response(200, {{"Docker-Content-Digest", digest()}, {"Content-Type", type}}, body);
        return make_response(404);
    }
};

image_ref multi(const std::string& registry) { return ref_at(registry, "test/app", "multi"); }

}  // namespace

TEST_CASE("resolve: an OCI index gives the index digest and the platform child as effective")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        index_registry reg;
        reg.body = index_json({{child_amd64, "linux/amd64"}, {child_arm64, "linux/arm64/v8"}});
        fake_http_server server(ioc, std::ref(reg));
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto r = co_await c->resolve(multi(server.authority()), "linux/amd64");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->digest == reg.digest());
        CHECK(r->effective == child_amd64);
        CHECK(r->media_type == oci_index);
        auto& rq = server.requests();
        REQUIRE(rq.size() == 2);
        CHECK(rq[1].method == "GET");
        CHECK(rq[1].target == "/v2/test/app/manifests/" + reg.digest());  // by digest, not by tag
        CHECK(rq[1]["Accept"] == manifest_accept);

        r = co_await c->resolve(multi(server.authority()), "linux/arm64");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->effective == child_arm64);
        CHECK(rq.size() == 4);

        // The child of an unchanged index is remembered: a warm check is one HEAD.
        r = co_await c->resolve(multi(server.authority()), "linux/amd64");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->effective == child_amd64);
        CHECK(rq.size() == 5);
        CHECK(server.accepted() == 1);
    });
}

TEST_CASE("resolve: a Docker manifest list works the same; a single manifest is its own effective digest")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        index_registry reg;
        reg.type = docker_list + "; charset=utf-8";
        reg.body = index_json({{child_amd64, "linux/amd64"}, {child_arm64, "linux/arm64"}}, {}, docker_list);
        fake_http_server server(ioc, std::ref(reg));
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto r = co_await c->resolve(multi(server.authority()), "linux/arm64/v8");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->effective == child_arm64);
        CHECK(r->media_type == docker_list);

        fake_http_server single(ioc, [](const fake_http_server::request&) { return head_ok(digest_a); });
        r = co_await c->resolve(ref_at(single.authority()), "linux/amd64");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->digest == digest_a);
        CHECK(r->effective == digest_a);
        CHECK(r->media_type == "application/vnd.oci.image.manifest.v1+json");
        CHECK(single.requests().size() == 1);
    });
}

TEST_CASE("resolve: an index body whose digest differs from the announced one is not trusted")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        index_registry reg;
        reg.body = index_json({{child_amd64, "linux/amd64"}});
        reg.announced = "sha256:" + std::string(64, 'f');
        fake_http_server server(ioc, std::ref(reg));
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto r = co_await c->resolve(multi(server.authority()), "linux/amd64");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::bad_response);
        CHECK(r.error().message == server.authority() + " sent an index for " + server.authority() +
                                       "/test/app:multi@" + reg.announced + " whose content has digest " +
                                       content_digest(reg.body).value() +
                                       ": not trusted (corrupted or altered on the way)");
    });
}

TEST_CASE("resolve: no manifest for the platform names the platform and the index's platforms")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        index_registry reg;
        boost::json::value attestation =
            boost::json::object{{"digest", "sha256:" + std::string(64, '9')},
                                {"platform", boost::json::object{{"os", "unknown"}, {"architecture", "unknown"}}}};
        reg.body = index_json({{child_amd64, "linux/amd64"}, {child_arm64, "linux/arm64"}}, {attestation});
        fake_http_server server(ioc, std::ref(reg));
        auto c = make_client(ioc.get_executor(), insecure_settings());

        auto r = co_await c->resolve(multi(server.authority()), "linux/s390x");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::not_found);
        CHECK(r.error().message == server.authority() +
                                       "/test/app:multi: no manifest for linux/s390x (the index has linux/amd64, "
                                       "linux/arm64)");

        // A malformed platform is refused before any request.
        auto before = server.requests().size();
        r = co_await c->resolve(multi(server.authority()), "amd64");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_argument);
        CHECK(server.requests().size() == before);
    });
}

TEST_CASE("resolve: behind a token, the index GET reuses the HEAD's token; every exchange is reported")
{
    test::run_coro([](asio::io_context& ioc) -> awaitable<void> {
        scoped_tokens tokens;
        fake_http_server token_server(ioc, std::ref(tokens));
        index_registry index;
        index.body = index_json({{child_amd64, "linux/amd64"}});
        scoped_registry reg;
        reg.tokens = &tokens;
        reg.realm = "http://" + token_server.authority() + "/token";
        reg.answer = std::ref(index);
        fake_http_server server(ioc, std::ref(reg));

        std::vector<exchange_record> seen;
        auto s = recording_settings(seen);
        auto c = make_client(ioc.get_executor(), s);

        auto r = co_await c->resolve(multi(server.authority()), "");
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        CHECK(r->effective == child_amd64);
        CHECK(tokens.issued == 1);
        auto reg_host = server.authority(), tok_host = token_server.authority();
        std::vector<std::tuple<std::string, std::string, unsigned>> expected{
            {reg_host, "HEAD", 401}, {tok_host, "GET", 200}, {reg_host, "HEAD", 200}, {reg_host, "GET", 200}};
        CHECK(seen == expected);
        CHECK(server.requests()[2]["Authorization"] == "Bearer tok-1");  // the GET

        // A transport failure is reported with status 0.
        asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        auto dead = "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
        probe.close();
        r = co_await c->resolve(ref_at(dead), "");
        REQUIRE_FALSE(r.has_value());
        CHECK(seen.back() == std::tuple<std::string, std::string, unsigned>{dead, "HEAD", 0});
    });
}
