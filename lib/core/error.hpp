#pragma once
// Expected failures as values. Pure.
//
// A result<T> holds either a T or an error whose message a person can act on
// ("pull: manifest unknown", "config: watch.interval: must be positive").
// Exceptions are reserved for bugs; they are caught at task boundaries and logged.
#include "core/text.hpp"

#include <boost/system/result.hpp>

#include <exception>
#include <string>
#include <utility>

namespace imagewatch {

// Coarse kinds so callers can decide (retry, back off, report) without parsing messages.
enum class errc
{
    failed,            // generic failure; the message says what
    timed_out,         // a deadline passed
    unreachable,       // could not connect (daemon or registry down)
    not_found,         // 404 / no such container / manifest unknown
    unauthorized,      // 401 / 403
    rate_limited,      // 429 / 503 with Retry-After
    bad_response,      // the peer answered something we cannot parse
    invalid_argument,  // bad input from a user (config, query, image reference)
    not_reproducible,  // a container whose state cannot be recreated faithfully
    cancelled,         // stopped by shutdown or reload
};

// Messages are shown in JSON answers (status, refresh results, notifications) and logs, and often
// quote registry or Docker bytes: make_error and wrap keep them valid UTF-8 whatever went in.
// (Where outside text is quoted, it is also cut to an excerpt at a character boundary there.)
struct error
{
    errc code = errc::failed;
    std::string message;

    // Prefixes the message with context: wrap("pull") turns "manifest unknown" into "pull: manifest unknown".
    error wrap(std::string_view context) const& { return error{code, valid_utf8(context) + ": " + message}; }
};

inline error make_error(errc code, std::string message)
{
    return error{code, is_valid_utf8(message) ? std::move(message) : valid_utf8(message)};
}
inline error make_error(std::string message) { return make_error(errc::failed, std::move(message)); }

template <class T>
using result = boost::system::result<T, error>;

// r's error, or success without r's value, for a caller that needs only whether it worked.
template <class T>
result<void> without_value(const result<T>& r)
{
    if (!r)
        return r.error();
    return {};
}

// Lets result<T>::value() throw on an error (a bug path: callers should check first).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

std::string_view to_string(errc c);

// What an exception caught at a task boundary says (its what(), or "unknown exception" for one
// not derived from std::exception), for the log line that reports the bug.
std::string exception_message(const std::exception_ptr& e);

}  // namespace imagewatch
