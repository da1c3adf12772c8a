#include "registry/manifest.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::registry;
using namespace std::chrono_literals;

TEST_CASE("manifest: Accept lists the four types, index types first")
{
    CHECK(manifest_accept == "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
                             "application/vnd.docker.distribution.manifest.list.v2+json, "
                             "application/vnd.docker.distribution.manifest.v2+json");
}

TEST_CASE("manifest: digest validation")
{
    std::string hex64(64, 'a');
    CHECK(is_valid_digest("sha256:" + hex64));
    CHECK(is_valid_digest("sha512:" + std::string(128, '0')));
    CHECK_FALSE(is_valid_digest("sha256:" + hex64.substr(1)));
    CHECK_FALSE(is_valid_digest("sha256:" + std::string(64, 'A')));
    CHECK_FALSE(is_valid_digest("md5:" + hex64));
    CHECK_FALSE(is_valid_digest(hex64));
    CHECK_FALSE(is_valid_digest(""));
}

TEST_CASE("manifest: Retry-After as seconds or HTTP-date")
{
    using namespace std::chrono;
    sys_time<seconds> now = sys_days(year(2015) / 10 / 21) + 7h + 27min + 30s;
    CHECK(parse_retry_after("120", now) == 120s);
    CHECK(parse_retry_after(" 0 ", now) == 0s);
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 30s);
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0s);
    CHECK_FALSE(parse_retry_after("", now).has_value());
    CHECK_FALSE(parse_retry_after("-5", now).has_value());
    CHECK_FALSE(parse_retry_after("12abc", now).has_value());
    CHECK_FALSE(parse_retry_after("tomorrow", now).has_value());
    CHECK_FALSE(parse_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", now).has_value());
}

// ---- index media types, content digests, platforms ----

TEST_CASE("manifest: index media types, with parameters and any case")
{
    CHECK(is_index_media_type("application/vnd.oci.image.index.v1+json"));
    CHECK(is_index_media_type("application/vnd.docker.distribution.manifest.list.v2+json"));
    CHECK(is_index_media_type(" Application/VND.OCI.Image.Index.v1+json; charset=utf-8"));
    CHECK_FALSE(is_index_media_type("application/vnd.oci.image.manifest.v1+json"));
    CHECK_FALSE(is_index_media_type("application/vnd.docker.distribution.manifest.v2+json"));
    CHECK_FALSE(is_index_media_type(""));
    CHECK(bare_media_type("application/json; charset=utf-8") == "application/json");
}

TEST_CASE("manifest: content digest of bytes")
{
    CHECK(content_digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(content_digest("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auto s512 = content_digest("abc", "sha512");
    REQUIRE(s512.has_value());
    CHECK(s512->starts_with("sha512:ddaf35a193617aba"));
    CHECK(is_valid_digest(*s512));
    CHECK_FALSE(content_digest("abc", "md5").has_value());
}

TEST_CASE("platform: parse, default and containerd normalisation")
{
    auto p = [](std::string_view s) {
        auto r = parse_platform(s);
        REQUIRE_MESSAGE(r.has_value(), r.error().message);
        return r->str();
    };
    CHECK(p("") == "linux/amd64");
    CHECK(p("linux/amd64") == "linux/amd64");
    CHECK(p("Linux/X86_64") == "linux/amd64");
    CHECK(p("linux/aarch64") == "linux/arm64");
    CHECK(p("linux/arm64/8") == "linux/arm64/v8");
    CHECK(p("linux/armhf") == "linux/arm/v7");
    CHECK(p("linux/armel") == "linux/arm/v6");
    CHECK(p("linux/i386") == "linux/386");
    CHECK(p("windows/amd64") == "windows/amd64");
    for (const char* bad : {"linux", "linux/", "/amd64", "linux/amd64/v8/x", "linux amd64", "linux//v8"})
    {
        CAPTURE(bad);
        auto r = parse_platform(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::invalid_argument);
        CHECK(r.error().message.find("expected os/arch") != std::string::npos);
    }
}

namespace {

const std::string d_amd64 = "sha256:" + std::string(64, '1');
const std::string d_arm64 = "sha256:" + std::string(64, '2');
const std::string d_armv7 = "sha256:" + std::string(64, '3');
const std::string d_att = "sha256:" + std::string(64, '4');
const std::string d_armv6 = "sha256:" + std::string(64, '5');

platform plat(std::string_view s) { return parse_platform(s).value(); }

// A multi-platform index as buildx pushes it: images first, then attestation manifests.
const std::string buildx_index = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_att + R"(", "size": 566,
     "annotations": {"vnd.docker.reference.digest": ")" +
                                 d_amd64 + R"(", "vnd.docker.reference.type": "attestation-manifest"},
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_amd64 + R"(", "size": 1234,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_arm64 + R"(", "size": 1234,
     "platform": {"architecture": "arm64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_armv6 + R"(", "size": 1234,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_armv7 + R"(", "size": 1234,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                 d_att + R"(", "size": 566,
     "platform": {"architecture": "unknown", "os": "unknown"}}
  ]
})";

}  // namespace

TEST_CASE("index: the entry for the platform; attestation entries never match")
{
    // The attestation entry for amd64 comes first and claims linux/amd64: it is skipped.
    CHECK(select_platform_manifest(buildx_index, plat("linux/amd64")).value() == d_amd64);
    CHECK(select_platform_manifest(buildx_index, plat("")).value() == d_amd64);
    CHECK(select_platform_manifest(buildx_index, plat("linux/x86_64")).value() == d_amd64);
    CHECK(select_platform_manifest(buildx_index, plat("linux/arm/v7")).value() == d_armv7);
    CHECK(select_platform_manifest(buildx_index, plat("linux/armhf")).value() == d_armv7);
    // No variant asked: the first arm entry, whatever its variant.
    CHECK(select_platform_manifest(buildx_index, plat("linux/arm")).value() == d_armv6);
}

TEST_CASE("index: arm64 without a variant and arm64/v8 are the same platform")
{
    // Entry without a variant, asked with v8 (and "8", and aarch64).
    CHECK(select_platform_manifest(buildx_index, plat("linux/arm64/v8")).value() == d_arm64);
    CHECK(select_platform_manifest(buildx_index, plat("linux/arm64/8")).value() == d_arm64);
    CHECK(select_platform_manifest(buildx_index, plat("linux/aarch64")).value() == d_arm64);
    // Entry with v8, asked with and without.
    std::string v8 = R"({"manifests":[{"digest":")" + d_arm64 +
                     R"(","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
    CHECK(select_platform_manifest(v8, plat("linux/arm64")).value() == d_arm64);
    CHECK(select_platform_manifest(v8, plat("linux/arm64/v8")).value() == d_arm64);
    // A different variant asked: no match.
    auto r = select_platform_manifest(v8, plat("linux/arm64/v9"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == imagewatch::errc::not_found);
}

TEST_CASE("index: no entry for the platform names it and the platforms the index has")
{
    auto r = select_platform_manifest(buildx_index, plat("linux/s390x"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == imagewatch::errc::not_found);
    CHECK(r.error().message ==
          "no manifest for linux/s390x (the index has linux/amd64, linux/arm64, linux/arm/v6, linux/arm/v7)");

    r = select_platform_manifest(R"({"manifests":[]})", plat("linux/amd64"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "no manifest for linux/amd64 (the index has no platform manifests)");
}

TEST_CASE("index: malformed bodies are bad_response")
{
    for (const char* bad : {"", "[]", "{not json", R"({"manifests":{}})", R"({"schemaVersion":2})"})
    {
        CAPTURE(bad);
        auto r = select_platform_manifest(bad, plat("linux/amd64"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == imagewatch::errc::bad_response);
    }
    auto r = select_platform_manifest(
        R"({"manifests":[{"digest":"sha256:short","platform":{"os":"linux","architecture":"amd64"}}]})",
        plat("linux/amd64"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == imagewatch::errc::bad_response);
    CHECK(r.error().message == "the index entry for linux/amd64 has a malformed digest");
}
