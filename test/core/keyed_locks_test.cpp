#include "core/keyed_locks.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <optional>

using namespace imagewatch;

namespace {

// Takes key and keeps it until the gate opens (open_gate(gate)); counts holders.
awaitable<void> hold(keyed_locks& locks, std::string key, int& inside, asio::steady_timer& gate)
{
    std::vector<std::string> keys{std::move(key)};
    auto g = co_await locks.lock(std::move(keys));
    ++inside;
    co_await gate.async_wait(nothrow_awaitable);
    --inside;
}

// The gate is a timer that expires only when opened: then every wait, now or later, ends at once.
void open_gate(asio::steady_timer& gate) { gate.expires_at(asio::steady_timer::time_point::min()); }

}  // namespace

TEST_CASE("keyed_locks: a key admits `slots` holders; its entry lives while held or awaited")
{
    asio::io_context ioc;
    keyed_locks locks(ioc.get_executor(), 2);
    int inside = 0;
    asio::steady_timer gate(ioc, asio::steady_timer::time_point::max());
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(ioc, hold(locks, "host", inside, gate), asio::detached);
    int other = 0;
    asio::co_spawn(ioc, hold(locks, "other", other, gate), asio::detached);
    ioc.poll();
    CHECK(inside == 2);
    CHECK(other == 1);
    CHECK(locks.held("host"));
    CHECK(locks.entries() == 2);
    open_gate(gate);
    ioc.run();
    CHECK(inside == 0);
    CHECK(locks.entries() == 0);
    CHECK_FALSE(locks.held("host"));
}

TEST_CASE("keyed_locks: a cancelled wait holds nothing; nothrow gives nullopt, lock() throws")
{
    asio::io_context ioc;
    keyed_locks locks(ioc.get_executor());
    int inside = 0;
    asio::steady_timer gate(ioc, asio::steady_timer::time_point::max());
    asio::co_spawn(ioc, hold(locks, "k", inside, gate), asio::detached);
    ioc.poll();
    REQUIRE(inside == 1);

    std::optional<bool> got;  // whether the nothrow waiter got the lock
    asio::cancellation_signal quiet;
    asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
            std::vector<std::string> keys{"k"};
            auto g = co_await locks.lock(std::move(keys), std::nothrow);
            got = g.has_value();
        },
        asio::bind_cancellation_slot(quiet.slot(), asio::detached));
    std::exception_ptr thrown;
    asio::cancellation_signal loud;
    asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
            std::vector<std::string> keys{"k"};
            auto g = co_await locks.lock(std::move(keys));
        },
        asio::bind_cancellation_slot(loud.slot(), [&](std::exception_ptr e) { thrown = e; }));
    ioc.poll();
    CHECK(locks.entries() == 1);
    quiet.emit(asio::cancellation_type::terminal);
    loud.emit(asio::cancellation_type::terminal);
    ioc.poll();
    REQUIRE(got.has_value());
    CHECK_FALSE(*got);
    CHECK(thrown);
    CHECK(locks.entries() == 1);  // still held by the first
    open_gate(gate);
    ioc.run();
    CHECK(locks.entries() == 0);
}

TEST_CASE("keyed_locks: a guard may outlive its keyed_locks")
{
    asio::io_context ioc;
    std::optional<keyed_locks::guard> kept;
    {
        keyed_locks locks(ioc.get_executor(), 3);
        asio::co_spawn(
            ioc,
            [&]() -> awaitable<void> {
                std::vector<std::string> keys{"b", "a", "b"};
                kept.emplace(co_await locks.lock(std::move(keys)));
            },
            asio::detached);
        ioc.run();
        REQUIRE(kept.has_value());
        CHECK(locks.held("a"));
        CHECK(locks.held("b"));
        CHECK(locks.entries() == 2);
    }
    kept.reset();  // touches only the semaphores it shares (ASan would see a freed table)
}

TEST_CASE("keyed_locks: try_lock takes a free slot at once and never passes a waiter")
{
    asio::io_context ioc;
    keyed_locks locks(ioc.get_executor(), 2);
    auto first = locks.try_lock("host");
    REQUIRE(first.has_value());
    CHECK(locks.entries() == 1);
    auto second = locks.try_lock("host");
    REQUIRE(second.has_value());
    CHECK_FALSE(locks.try_lock("host").has_value());  // both slots held

    bool waiter_in = false;
    std::optional<keyed_locks::guard> waited;
    asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
            std::vector<std::string> keys{"host"};
            waited.emplace(co_await locks.lock(std::move(keys)));
            waiter_in = true;
        },
        asio::detached);
    ioc.poll();
    CHECK_FALSE(waiter_in);
    first.reset();  // the freed slot goes to the waiter, not to the next try_lock
    CHECK_FALSE(locks.try_lock("host").has_value());
    ioc.poll();
    CHECK(waiter_in);
    second.reset();
    waited.reset();
    CHECK(locks.entries() == 0);
    CHECK(locks.try_lock("other").has_value());  // a temporary: taken and let go at once
    CHECK(locks.entries() == 0);
}
