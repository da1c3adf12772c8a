#pragma once
// Refresh settings for orchestration tests over the in-memory engine: the swap's grace period,
// polling and health timeout cut to milliseconds so a test replaces containers in a blink.
#include "refresh/service.hpp"

#include <chrono>

namespace imagewatch::test {

inline refresh::settings fast_settings()
{
    using namespace std::chrono_literals;
    refresh::settings s;
    s.swap.grace = 20ms;
    s.swap.poll = 5ms;
    s.swap.health_timeout = 200ms;
    return s;
}

}  // namespace imagewatch::test
