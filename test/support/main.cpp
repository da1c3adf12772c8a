// doctest main for every unit-test executable. Logs are quiet unless IMAGEWATCH_TEST_LOG=debug|info|...
#define DOCTEST_CONFIG_IMPLEMENT
#include "core/log.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

int main(int argc, char** argv)
{
    imagewatch::log::level lv = imagewatch::log::level::error;
    if (const char* v = std::getenv("IMAGEWATCH_TEST_LOG"))
        imagewatch::log::parse_level(v, lv);
    imagewatch::log::configure(lv, imagewatch::log::format::text);
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
