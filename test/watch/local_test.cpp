#include "watch/local.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;

TEST_CASE("RepoDigests match by repository, any entry, any registry spelling of the same name")
{
    auto img = parse_image_ref("registry.test:5443/test/app:latest").value();
    boost::json::array rd{"127.0.0.1:5443/test/app@sha256:aaa", "registry.test:5443/test/app@sha256:bbb",
                          "registry.test:5443/other@sha256:ccc"};
    CHECK(watch::repo_digests_contain(rd, img, "sha256:bbb"));
    CHECK_FALSE(watch::repo_digests_contain(rd, img, "sha256:aaa"));  // other registry name
    CHECK_FALSE(watch::repo_digests_contain(rd, img, "sha256:ccc"));  // other repository
    auto hub = parse_image_ref("nginx").value();
    CHECK(watch::repo_digests_contain(boost::json::array{"nginx@sha256:ddd"}, hub, "sha256:ddd"));
}
