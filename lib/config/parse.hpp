#pragma once
// Reading the config file (docs/configuration.md): JSON with comments and trailing commas -> config, with every
// problem reported at once. Pure, except process_env() (reads the environment) and load_file()
// (reads the file).
#include "config/config.hpp"
#include "core/env.hpp"
#include "core/error.hpp"
#include "core/socket_address.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::config {

// One problem in a config text. JSON syntax errors have a 1-based line and column (bytes counted as
// UTF-8 characters) and no field; semantic errors have line 0 and a dotted field path such as
// "runtimes[2].image", "watch.interval", "registries.ghcr.io.ca_file" or an env variable's name.
struct issue
{
    int line = 0;
    int column = 0;
    std::string field;
    std::string message;
};

// Lets parse(...).value() throw on issues (a bug path: callers should check first). Found by ADL.
[[noreturn]] void throw_exception_from_error(const std::vector<issue>& issues, const boost::source_location& loc);

// Parses and validates a config text, then applies the env overrides that are set and non-empty:
// IMAGE_AUTO_REFRESH (true/false, any case) -> watch.enabled, DOCKER_HOST -> docker.host,
// IMAGE_PLATFORM -> docker.platform. A syntax error stops at the first one; otherwise every
// semantic issue is collected. A runtime's "containers" starts as a copy of the top-level selector
// and the keys it gives override. "registries" keys are kept as written, except "index.docker.io",
// which becomes "docker.io" as in image references.
boost::system::result<config, std::vector<issue>> parse(std::string_view text, const env_lookup& env);

// "PATH:LINE:COL: message" for syntax errors, "PATH: field.path: message" for semantic ones
// (the --check-config format, docs/cli.md).
std::string format_issue(std::string_view path, const issue& i);

// The largest config file read: far more than any real config needs, and a path pointing at
// /dev/zero or a huge file fails at once rather than filling memory.
inline constexpr std::size_t max_config_size = 1024 * 1024;

// The bytes of the regular file at path (read_small_regular_file): "PATH: strerror" when it cannot
// be read, "PATH: not a regular file (a FIFO)" or "PATH: larger than 1 MiB" when it must not be.
result<std::string> read_text(const std::string& path);

// Reads and parses the file at path. An unreadable file fails as read_text does;
// an invalid one with errc::invalid_argument and every issue formatted, one per line. text_out, when
// given, receives the file's bytes whenever they could be read (for config_hash), valid or not.
result<config> load_file(const std::string& path, const env_lookup& env, std::string* text_out = nullptr);

// The second half of load_file, for bytes already read from path: parsed, every issue formatted.
result<config> parse_file(std::string_view path, std::string_view text, const env_lookup& env);

// "sha256:" + lower-case hex SHA-256 of the file bytes (shown in /admin/status).
std::string config_hash(std::string_view text);

// $IMAGEWATCH_CONFIG when set and non-empty, else /etc/imagewatch/config.json.
std::string default_config_path(const env_lookup& env);

// admin.listen: TCP "HOST:PORT" / "[v6]:PORT" (port 1-65535), or "unix:/abs/path" (also
// "unix:///abs/path"). Fails with errc::invalid_argument and a message saying which form was expected.
result<socket_address> parse_listen(std::string_view s);

// docker.host and DOCKER_HOST: "unix:///abs/path" or "tcp://host[:port]" (port 2375 when absent; a
// trailing "/" is allowed, a path is not; no TLS). Fails with errc::invalid_argument and a message
// saying which form was expected.
result<socket_address> parse_docker_host(std::string_view s);

}  // namespace imagewatch::config
