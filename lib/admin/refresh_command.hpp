#pragma once
// The shell command that triggers a refresh on this daemon, for the start-up log: a new user learns
// the listen address, the path and the header in one copyable line. Pure.
#include <string>
#include <string_view>

namespace imagewatch::admin {

inline constexpr std::string_view refresh_path = "/admin/workspace-images/refresh";

// local_address: the listener as admin::server reports it ("127.0.0.1:8080", "[::]:8080",
// "unix:/path"); a wildcard address becomes the loopback one. token_placeholder stands for the
// token (e.g. "$ADMIN_TOKEN"): the token itself never goes into a log line.
std::string refresh_command(std::string_view local_address, std::string_view token_placeholder);

// The placeholder for the token source the config names: "$(cat FILE)" for admin.token_file, else
// "$VAR" for admin.token_env, else "TOKEN".
std::string token_placeholder(std::string_view token_env, std::string_view token_file);

}  // namespace imagewatch::admin
