#pragma once
// Environment lookup, injected wherever an environment variable matters so tests need no real
// environment. The process environment is read at each call (credentials may rotate).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch {

// Looks up an environment variable; nullopt when unset.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (std::getenv).
env_lookup process_env();

}  // namespace imagewatch
