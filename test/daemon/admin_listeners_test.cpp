#include "daemon/admin_listeners.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::daemon;

namespace {

// A server whose run() and sessions the test ends by hand.
struct fake_server final : admin::server
{
    bool* closed;
    bool* sessions_ended;
    bool* done;
    fake_server(bool* c, bool* e, bool* d) : closed(c), sessions_ended(e), done(d) {}
    awaitable<void> run() override { co_return; }
    void close() override { *closed = true; }
    void end_sessions() override { *sessions_ended = true; }
    bool finished() const override { return *done; }
    std::string local_address() const override { return "127.0.0.1:1"; }
};

struct server_state
{
    bool closed = false;
    bool sessions_ended = false;
    bool done = false;
    std::unique_ptr<admin::server> make() { return std::make_unique<fake_server>(&closed, &sessions_ended, &done); }
};

}  // namespace

TEST_CASE("a replaced server stops accepting and is kept only while it still runs")
{
    admin_listeners l;
    server_state first;
    server_state second;
    l.replace(first.make());
    CHECK(l.retired() == 0);
    l.replace(second.make());
    CHECK(first.closed);
    CHECK_FALSE(first.sessions_ended);  // a refresh in flight on the old address still answers
    CHECK_FALSE(second.closed);
    CHECK(l.retired() == 1);
    first.done = true;
    CHECK(l.retired() == 0);
}

TEST_CASE("reloads that change admin.listen do not pile servers up")
{
    admin_listeners l;
    std::vector<std::unique_ptr<server_state>> states;
    for (int i = 0; i < 100; ++i)
    {
        states.push_back(std::make_unique<server_state>());
        l.replace(states.back()->make());
        if (i > 0)
            states[static_cast<std::size_t>(i - 1)]->done = true;  // its accept loop saw the close
    }
    CHECK(l.retired() == 0);
    // One that never finishes (a session in a long refresh) is kept, and only it.
    states.push_back(std::make_unique<server_state>());
    l.replace(states.back()->make());
    for (int i = 0; i < 10; ++i)
    {
        states.push_back(std::make_unique<server_state>());
        l.replace(states.back()->make());
        states[states.size() - 2]->done = true;
    }
    CHECK(l.retired() == 1);
}

TEST_CASE("close_all ends every server and its sessions")
{
    admin_listeners l;
    server_state first;
    server_state second;
    l.replace(first.make());
    l.replace(second.make());
    CHECK_FALSE(l.finished());
    l.close_all();
    CHECK(first.closed);
    CHECK(first.sessions_ended);
    CHECK(second.closed);
    CHECK(second.sessions_ended);
    first.done = true;
    CHECK_FALSE(l.finished());
    second.done = true;
    CHECK(l.finished());
}
