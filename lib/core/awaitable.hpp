#pragma once
// Coroutine vocabulary shared by every I/O module. Light: Asio core only, no Beast, no SSL.
#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagewatch {

namespace asio = boost::asio;

template <class T>
using awaitable = asio::awaitable<T>;

// Token for operations whose failure is expected: co_await op(nothrow_awaitable) -> tuple(ec, ...).
inline constexpr asio::as_tuple_t<asio::use_awaitable_t<>> nothrow_awaitable{};

}  // namespace imagewatch
