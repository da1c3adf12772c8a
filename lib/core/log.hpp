#pragma once
// One-line structured logs (docs/cli.md "Logs"): text (logfmt) or json, with ts, level, msg and context fields.
// Process-wide, single-threaded (everything runs on one io_context). Never pass secrets as fields.
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace imagewatch::log {

enum class level
{
    debug,
    info,
    warn,
    error
};
enum class format
{
    text,
    json
};

struct field
{
    std::string_view key;
    std::string value;
};

// Sink receives one complete line without the trailing newline. Default: stderr.
using sink = std::function<void(std::string_view line)>;

void configure(level min_level, format fmt);
void set_sink(sink s);  // tests capture lines with this; an empty sink restores stderr
level min_level();
// Whether a line at lv would be written: build costly fields only when it is.
inline bool enabled(level lv) { return lv >= min_level(); }

bool parse_level(std::string_view s, level& out);
bool parse_format(std::string_view s, format& out);

void write(level lv, std::string_view msg, std::initializer_list<field> fields = {});
inline void debug(std::string_view m, std::initializer_list<field> f = {}) { write(level::debug, m, f); }
inline void info(std::string_view m, std::initializer_list<field> f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<field> f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<field> f = {}) { write(level::error, m, f); }

// "sha256:0123456789abcdef..." -> "sha256:0123456789ab" (12 hex digits); anything else unchanged.
std::string short_digest(std::string_view digest);

// Renders one line; exposed for tests.
std::string render(format fmt, std::string_view ts, level lv, std::string_view msg,
                   std::initializer_list<field> fields);

}  // namespace imagewatch::log
