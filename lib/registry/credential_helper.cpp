// Docker credential helpers (`docker-credential-<name> get`), run without blocking the event loop.
#include "registry/credentials.hpp"

#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/timeout.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace imagewatch::registry {

namespace {

constexpr std::size_t max_helper_output = 64 * 1024;
constexpr std::size_t max_quoted = 200;
constexpr std::chrono::milliseconds exit_poll{5};

// What every helper message starts with: "docker-credential-pass (credHelpers in docker config …)".
std::string describe(const credential_helper& h) { return "credential helper " + h.program + " (" + h.source + ")"; }

// The first line of a failing helper's output, shortened. A failing helper prints its error there.
std::string first_line(std::string_view out)
{
    return utf8_excerpt(trim_end(out.substr(0, out.find('\n')), "\r "),
                        max_quoted);  // quoted in error messages: valid UTF-8, cut between characters
}

// The helper's process group: killed and reaped on destruction unless the helper was reaped
// already. The blocking waitpid after SIGKILL returns at once.
class child_process
{
public:
    explicit child_process(pid_t pid) : pid_(pid) {}
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process()
    {
        if (pid_ <= 0)
            return;
        ::kill(-pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
        {}
    }

    // The wait status once the helper has exited, else nullopt.
    std::optional<int> poll()
    {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_)
        {
            pid_ = -1;
            return status;
        }
        return std::nullopt;
    }

private:
    pid_t pid_;
};

// The spawn attributes and file actions, destroyed on every path.
struct spawn_setup
{
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attr{};
    spawn_setup(int child_fd)
    {
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, child_fd, 0);
        posix_spawn_file_actions_adddup2(&actions, child_fd, 1);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // Asio's sockets are not close-on-exec
        posix_spawnattr_init(&attr);
        // Own process group (killed as a whole on timeout); default SIGPIPE (the daemon ignores it)
        // and an empty signal mask, as a shell would start it.
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        posix_spawnattr_setpgroup(&attr, 0);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        sigset_t mask;
        sigemptyset(&mask);
        posix_spawnattr_setsigmask(&attr, &mask);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;
    ~spawn_setup()
    {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

// One run: spawn, write the server URL, read the answer until EOF, reap. Cancellation (the
// deadline of run_credential_helper) ends it at any await; child_process then kills the helper.
awaitable<result<std::optional<credentials>>> run_once(credential_helper h)
{
    auto ex = co_await asio::this_coro::executor;
    std::array<int, 2> fds{};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0)
        co_return make_error(errc::failed, describe(h) + ": socketpair: " + std::strerror(errno));
    // A socket, not a pipe: Asio sends with MSG_NOSIGNAL, so a helper that exits without reading
    // its stdin cannot raise SIGPIPE here.
    asio::local::stream_protocol::socket ours(ex, asio::local::stream_protocol(), fds[0]);

    pid_t pid = -1;
    int spawn_rc = 0;
    {
        spawn_setup setup(fds[1]);
        std::string get = "get";
        std::array<char*, 3> argv{h.program.data(), get.data(), nullptr};
        spawn_rc = ::posix_spawnp(&pid, h.program.c_str(), &setup.actions, &setup.attr, argv.data(), environ);
    }
    ::close(fds[1]);
    if (spawn_rc == ENOENT)
        co_return make_error(errc::failed, describe(h) + ": not found in PATH");
    if (spawn_rc != 0)
        co_return make_error(errc::failed, describe(h) + ": cannot start: " + std::strerror(spawn_rc));
    child_process child(pid);

    auto [wec, written] = co_await asio::async_write(ours, asio::buffer(h.server_url), nothrow_awaitable);
    (void)written;  // a helper that exits unread makes this fail; its output still tells why
    if (wec == asio::error::operation_aborted)
        co_return make_error(errc::cancelled, describe(h) + ": cancelled");
    boost::system::error_code ignored;
    ours.shutdown(asio::socket_base::shutdown_send, ignored);  // EOF on the helper's stdin

    std::string out;
    std::array<char, 4096> buf{};
    while (true)
    {
        auto [rec, n] = co_await ours.async_read_some(asio::buffer(buf), nothrow_awaitable);
        out.append(buf.data(), n);
        if (rec == asio::error::eof)
            break;
        if (rec == asio::error::operation_aborted)
            co_return make_error(errc::cancelled, describe(h) + ": cancelled");
        if (rec)
            co_return make_error(errc::failed, describe(h) + ": reading its answer: " + rec.message());
        if (out.size() > max_helper_output)
            co_return make_error(errc::bad_response, describe(h) + ": answer longer than 64 KiB");
    }

    asio::steady_timer timer(ex);
    std::optional<int> status;
    while (!(status = child.poll()))
    {
        timer.expires_after(exit_poll);
        auto [ec] = co_await timer.async_wait(nothrow_awaitable);
        if (ec)
            co_return make_error(errc::cancelled, describe(h) + ": cancelled");
    }

    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
    {
        auto c = parse_helper_output(out, h.program + " (" + h.source + ")");
        if (!c)
            co_return c.error().wrap(describe(h));
        co_return std::optional<credentials>(std::move(*c));
    }
    auto line = first_line(out);
    // docker-credential-helpers' errCredentialsNotFoundMessage: nothing stored for this server.
    if (line.find("credentials not found") != std::string::npos)
        co_return std::optional<credentials>();
    std::string how = WIFEXITED(*status) ? "exit status " + std::to_string(WEXITSTATUS(*status))
                                         : "killed by signal " + std::to_string(WTERMSIG(*status));
    co_return make_error(errc::failed, describe(h) + " failed: " + how + (line.empty() ? "" : ": " + line));
}

}  // namespace

result<credentials> parse_helper_output(std::string_view out, std::string source)
{
    boost::system::error_code ec;
    auto jv = boost::json::parse(out, ec);
    if (ec || !jv.is_object())
        return make_error(errc::bad_response, "answer is not a JSON object");
    const auto& o = jv.get_object();
    credentials c{string_field(o, "Username"), string_field(o, "Secret"), std::move(source)};
    if (c.password.empty())
        return make_error(errc::bad_response, "answer has no \"Secret\"");
    if (c.username == "<token>")  // docker's tokenUsername: the secret is an identity (refresh) token
    {
        c.username.clear();
        c.identity_token = true;
    }
    return c;
}

awaitable<result<std::optional<credentials>>> run_credential_helper(credential_helper helper,
                                                                    std::chrono::milliseconds timeout)
{
    std::string what = "credential helper " + helper.program;
    co_return co_await with_timeout(run_once(std::move(helper)), timeout, std::move(what));
}

namespace {

// Holds only what the helper needs, not the config: a pull must not copy the whole config.
awaitable<std::optional<credentials>> run_found(credential_source found, std::string registry_host,
                                                std::chrono::milliseconds helper_timeout)
{
    if (!found.helper)
        co_return std::move(found.creds);
    auto r = co_await run_credential_helper(*found.helper, helper_timeout);
    if (!r)
    {
        log::warn("credential helper failed, using anonymous access",
                  {{"registry", registry_host}, {"error", r.error().message}});
        co_return std::nullopt;
    }
    co_return std::move(*r);
}

}  // namespace

awaitable<std::optional<credentials>> resolve_credentials_async(const config::config& cfg, std::string registry_host,
                                                                const env_lookup& env,
                                                                std::chrono::milliseconds helper_timeout)
{
    auto found = find_credentials(cfg, registry_host, env);
    return run_found(std::move(found), std::move(registry_host), helper_timeout);
}

}  // namespace imagewatch::registry
