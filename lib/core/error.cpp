#include "core/error.hpp"

#include <stdexcept>

namespace imagewatch {

void throw_exception_from_error(const error& e, const boost::source_location&) { throw std::runtime_error(e.message); }

std::string exception_message(const std::exception_ptr& e)
{
    try
    {
        std::rethrow_exception(e);
    }
    catch (const std::exception& ex)
    {
        return ex.what();
    }
    catch (...)
    {
        return "unknown exception";
    }
}

std::string_view to_string(errc c)
{
    switch (c)
    {
    case errc::failed: return "failed";
    case errc::timed_out: return "timed_out";
    case errc::unreachable: return "unreachable";
    case errc::not_found: return "not_found";
    case errc::unauthorized: return "unauthorized";
    case errc::rate_limited: return "rate_limited";
    case errc::bad_response: return "bad_response";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_reproducible: return "not_reproducible";
    case errc::cancelled: return "cancelled";
    }
    return "failed";
}

}  // namespace imagewatch
