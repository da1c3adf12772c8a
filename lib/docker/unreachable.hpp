#pragma once
// The message for a Docker Engine that cannot be reached, with what to do about it: the first thing
// a new user sees when the socket is missing or belongs to a group they are not in. Pure.
#include <string>
#include <string_view>

namespace imagewatch::docker {

// "cannot reach the Docker daemon at <address>: <cause>; <what to do>". err is the connect's errno
// value (ENOENT, EACCES, ECONNREFUSED get their own advice); other values, or 0 for failures
// without one (a timeout, a name that does not resolve), use `what` as the cause.
std::string unreachable_message(std::string_view address, int err, std::string_view what);

}  // namespace imagewatch::docker
