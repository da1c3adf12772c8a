#include "docker/pull_progress.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace imagewatch;
using docker::pull_progress;

namespace {

const std::string success_stream =
    R"({"status":"Pulling from test/app","id":"v1"})"
    "\r\n"
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"14b84b084dda"})"
    "\r\n"
    R"({"status":"Downloading","progressDetail":{"current":1024,"total":2048},"progress":"[=>  ]","id":"14b84b084dda"})"
    "\r\n"
    R"({"status":"Pull complete","progressDetail":{},"id":"14b84b084dda"})"
    "\r\n"
    R"({"status":"Digest: sha256:977b583eb631f9891365b44bc0962417b90e8615f95192b8d01dd19f4b2e719f"})"
    "\r\n"
    R"({"status":"Status: Downloaded newer image for registry.test:5443/test/app:v1"})"
    "\r\n";

}  // namespace

// A whole successful stream in one feed: several objects per feed, CRLF between them.
TEST_CASE("pull_progress: several objects in one feed")
{
    pull_progress p;
    REQUIRE(p.feed(success_stream).has_value());
    REQUIRE(p.finish().has_value());
    CHECK_FALSE(p.error_message().has_value());
    CHECK(p.objects() == 6);
    CHECK(p.last_status() == "Status: Downloaded newer image for registry.test:5443/test/app:v1");
    CHECK(p.digest() == "sha256:977b583eb631f9891365b44bc0962417b90e8615f95192b8d01dd19f4b2e719f");
}

// Objects split at every possible point (chunk boundaries do not follow object boundaries).
TEST_CASE("pull_progress: objects split across feeds at any byte")
{
    for (std::size_t step : {1u, 2u, 3u, 7u, 50u, 113u})
    {
        pull_progress p;
        for (std::size_t i = 0; i < success_stream.size(); i += step)
            REQUIRE(p.feed(std::string_view(success_stream).substr(i, step)).has_value());
        REQUIRE(p.finish().has_value());
        CHECK(p.objects() == 6);
        CHECK(p.last_status() == "Status: Downloaded newer image for registry.test:5443/test/app:v1");
    }
}

// Objects back to back with no separator, and blank lines / spaces between others.
TEST_CASE("pull_progress: no separator or extra whitespace between objects")
{
    pull_progress p;
    REQUIRE(p.feed(R"({"status":"a"}{"status":"b"})").has_value());
    REQUIRE(p.feed("\n\n  \t").has_value());
    REQUIRE(p.feed(R"(  {"status":"Status: Image is up to date for x:y"}   )").has_value());
    REQUIRE(p.feed("\n").has_value());
    REQUIRE(p.finish().has_value());
    CHECK(p.objects() == 3);
    CHECK(p.last_status() == "Status: Image is up to date for x:y");
}

// Docker's failed pull: 200 OK and an error object in the stream; errorDetail.message is preferred.
TEST_CASE("pull_progress: error object, first error wins")
{
    pull_progress p;
    REQUIRE(p.feed(R"({"status":"Pulling from test/app","id":"v9"})"
                   "\n")
                .has_value());
    REQUIRE(
        p.feed(
             R"({"errorDetail":{"message":"manifest for registry.test:5443/test/app:v9 not found: manifest unknown"},)")
            .has_value());
    REQUIRE(p.feed(R"("error":"short text"})"
                   "\n")
                .has_value());
    REQUIRE(p.feed(R"({"error":"second error"})").has_value());
    REQUIRE(p.finish().has_value());
    REQUIRE(p.error_message().has_value());
    CHECK(*p.error_message() == "manifest for registry.test:5443/test/app:v9 not found: manifest unknown");
    CHECK(docker::classify_pull_error(*p.error_message()) == errc::not_found);
}

// Only "error" (no errorDetail): its text is the message.
TEST_CASE("pull_progress: error without errorDetail")
{
    pull_progress p;
    REQUIRE(p.feed(R"({"error":"unauthorized: authentication required"})").has_value());
    REQUIRE(p.error_message().has_value());
    CHECK(*p.error_message() == "unauthorized: authentication required");
    CHECK(docker::classify_pull_error(*p.error_message()) == errc::unauthorized);
}

// Garbage, a non-object value, or a stream that ends inside an object are errors.
TEST_CASE("pull_progress: malformed input")
{
    {
        pull_progress p;
        auto r = p.feed(R"({"status": oops})");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::bad_response);
        CHECK_FALSE(p.feed("{}").has_value());  // stays broken
    }
    {
        pull_progress p;
        auto r = p.feed("<html>502 Bad Gateway</html>");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("expected a JSON object") != std::string::npos);
    }
    {
        pull_progress p;
        REQUIRE(p.feed(R"({"status":"Downloading","progressDetail":{"cur)").has_value());
        auto r = p.finish();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message == "pull progress: stream ended inside a JSON object");
    }
}

// An empty body is a valid (if odd) stream with no error.
TEST_CASE("pull_progress: empty stream")
{
    pull_progress p;
    REQUIRE(p.feed("").has_value());
    REQUIRE(p.finish().has_value());
    CHECK(p.objects() == 0);
    CHECK_FALSE(p.error_message().has_value());
}

TEST_CASE("classify_pull_error")
{
    CHECK(docker::classify_pull_error("toomanyrequests: You have reached your pull rate limit") == errc::rate_limited);
    CHECK(docker::classify_pull_error("pull access denied for x, repository does not exist") == errc::unauthorized);
    CHECK(docker::classify_pull_error("manifest unknown") == errc::not_found);
    CHECK(docker::classify_pull_error("failed to register layer: no space left on device") == errc::failed);
}

namespace {

docker::pull_totals totals_after(const std::string& stream)
{
    pull_progress p;
    REQUIRE(p.feed(stream).has_value());
    return p.totals();
}

std::string line(const std::string& id, const std::string& status, std::uint64_t current = 0, std::uint64_t total = 0)
{
    std::string detail =
        total ? R"({"current":)" + std::to_string(current) + R"(,"total":)" + std::to_string(total) + "}" : "{}";
    return R"({"status":")" + status + R"(","progressDetail":)" + detail + R"(,"id":")" + id + "\"}\r\n";
}

}  // namespace

// What Docker 20.10 streams for a three-layer image of which one layer is already present.
TEST_CASE("pull_progress: layers and bytes are summed per layer as the stream goes")
{
    std::string s = R"({"status":"Pulling from test/app","id":"latest"})"
                    "\r\n";
    s += line("aaa", "Already exists");
    s += line("bbb", "Pulling fs layer");
    s += line("ccc", "Pulling fs layer");
    s += line("bbb", "Waiting");
    auto t = totals_after(s);
    // The "Pulling from" line names the tag, not a layer.
    CHECK(t == docker::pull_totals{3, 1, 0, 0});

    s += line("bbb", "Downloading", 1000, 4000);
    s += line("ccc", "Downloading", 500, 10000);
    s += line("bbb", "Downloading", 3000, 4000);
    CHECK(totals_after(s) == docker::pull_totals{3, 1, 3500, 14000});

    s += line("bbb", "Verifying Checksum");
    s += line("bbb", "Download complete");
    CHECK(totals_after(s) == docker::pull_totals{3, 1, 4500, 14000});

    // Extraction progress counts extracted bytes, not downloaded ones: the download total stays.
    s += line("bbb", "Extracting", 100, 4000);
    s += line("ccc", "Downloading", 10000, 10000);
    CHECK(totals_after(s) == docker::pull_totals{3, 1, 14000, 14000});

    s += line("bbb", "Pull complete");
    s += line("ccc", "Download complete");
    s += line("ccc", "Extracting", 10000, 10000);
    s += line("ccc", "Pull complete");
    s += R"({"status":"Digest: sha256:977b583eb631f9891365b44bc0962417b90e8615f95192b8d01dd19f4b2e719f"})"
         "\r\n";
    s += R"({"status":"Status: Downloaded newer image for registry.test:5443/test/app:latest"})"
         "\r\n";
    CHECK(totals_after(s) == docker::pull_totals{3, 3, 14000, 14000});
}

// A small layer may skip "Downloading" entirely; its size then comes from "Extracting".
TEST_CASE("pull_progress: a layer's size is taken from Extracting when no Downloading line gave it")
{
    std::string s = line("ddd", "Pulling fs layer") + line("ddd", "Download complete");
    CHECK(totals_after(s) == docker::pull_totals{1, 0, 0, 0});
    s += line("ddd", "Extracting", 32768, 1200000);
    CHECK(totals_after(s) == docker::pull_totals{1, 0, 1200000, 1200000});
    s += line("ddd", "Pull complete");
    CHECK(totals_after(s) == docker::pull_totals{1, 1, 1200000, 1200000});
}

// Progress never goes backwards within a layer (a retried download restarts at 0 in Docker's
// output); and objects without an id or with another status are not layers.
TEST_CASE("pull_progress: no regress, no false layers")
{
    std::string s = line("eee", "Downloading", 8000, 9000) + line("eee", "Downloading", 0, 9000);
    s += R"({"status":"Status: Image is up to date for x:y"})"
         "\r\n";
    s += R"({"status":"Something new","id":"fff"})"
         "\r\n";
    s += R"({"status":"Downloading","progressDetail":{"current":-5,"total":"x"},"id":"ggg"})"
         "\r\n";
    CHECK(totals_after(s) == docker::pull_totals{2, 0, 8000, 9000});
}

// Sizes are the daemon's text: sums saturate instead of wrapping round to small numbers.
TEST_CASE("pull_progress: byte sums saturate")
{
    const std::string big = "18446744073709551615";  // 2^64 - 1
    std::string s =
        R"({"status":"Downloading","progressDetail":{"current":)" + big + R"(,"total":)" + big + R"(},"id":"a"})";
    s += R"({"status":"Downloading","progressDetail":{"current":5,"total":10},"id":"b"})";
    auto t = totals_after(s);
    CHECK(t.bytes_total == UINT64_MAX);
    CHECK(t.bytes_done == UINT64_MAX);
    CHECK(t.layers == 2);
}
