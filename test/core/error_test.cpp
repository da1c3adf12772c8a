#include "core/error.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace imagewatch;

TEST_CASE("error: wrap adds context and keeps the kind")
{
    auto e = make_error(errc::not_found, "manifest unknown").wrap("pull");
    CHECK(e.code == errc::not_found);
    CHECK(e.message == "pull: manifest unknown");
    CHECK(to_string(errc::rate_limited) == "rate_limited");
}

TEST_CASE("error: exception_message says what a caught exception said, whatever its type")
{
    CHECK(exception_message(std::make_exception_ptr(std::runtime_error("boom"))) == "boom");
    CHECK(exception_message(std::make_exception_ptr(42)) == "unknown exception");
}
