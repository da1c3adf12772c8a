#include "notify/digest_book.hpp"

#include <doctest/doctest.h>

using imagewatch::notify::digest_book;

TEST_CASE("each notification carries the digest of the one before")
{
    digest_book b;
    CHECK_FALSE(b.exchange("web", std::nullopt));  // before any check: nothing known, nothing noted
    CHECK(b.size() == 0);
    CHECK_FALSE(b.exchange("web", "sha256:a"));
    CHECK(b.exchange("web", "sha256:b") == "sha256:a");
    CHECK(b.exchange("web", std::nullopt) == "sha256:b");  // unknown now: the last known stays
    CHECK(b.exchange("web", "sha256:c") == "sha256:b");
}

TEST_CASE("a webhook's check notes the digest it starts from")
{
    digest_book b;
    b.note("web", "sha256:a");
    b.note("api", std::nullopt);
    CHECK(b.exchange("web", "sha256:b") == "sha256:a");
    CHECK_FALSE(b.exchange("api", "sha256:x"));
}

TEST_CASE("runtimes no longer configured are forgotten")
{
    digest_book b;
    b.note("web", "sha256:a");
    b.note("api", "sha256:b");
    b.keep_only({"api"});
    CHECK(b.size() == 1);
    CHECK_FALSE(b.exchange("web", "sha256:c"));
    CHECK(b.exchange("api", "sha256:d") == "sha256:b");
}
