#include "registry/manifest.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::registry;
using namespace std::chrono_literals;

TEST_CASE("manifest: Accept lists the four types, index types first")
{
    CHECK(manifest_accept ==
          "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
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
