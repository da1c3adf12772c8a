#pragma once
// Outbound refresh notifications (config `notify.webhook_url`): one JSON POST per refresh outcome
// to an http:// or https:// URL (system CAs). I/O; Beast and TLS stay in notifier.cpp.
//
// notify() never waits: events go into a bounded queue that one background coroutine drains, so
// a dead or hanging receiver can delay only other notifications, never a refresh. Each event is
// tried a few times (per-try timeout, backoff between tries) and counted in
// imagewatch_notify_total{result="ok|error|dropped"}.
#include "core/awaitable.hpp"
#include "refresh/result.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::notify {

// One refresh of one runtime, as the receiver sees it.
struct event
{
    std::string runtime;
    std::string image;                      // canonical reference
    std::optional<std::string> old_digest;  // null when not known
    std::optional<std::string> new_digest;  // null when not known
    refresh::outcome outcome;
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now();
};

// Pure. {"event":"refresh","timestamp":"<RFC 3339, ms>","runtime":..,"image":..,"ok":bool,
// "old_digest":..|null,"new_digest":..|null,"pulled":[..],"failed":[..],"recreated":[..],
// "skipped":[..],"errors":[..],"error":null|"container list: ..."}: the refresh result's arrays, never null.
std::string to_json(const event& e);

struct settings
{
    std::size_t queue_limit = 100;            // pending events; the oldest is dropped beyond it
    std::chrono::milliseconds timeout{5000};  // per try: resolve, connect, TLS, request, response
    std::vector<std::chrono::milliseconds> retry_delays{std::chrono::seconds(1), std::chrono::seconds(2)};
    std::string ca_file;  // extra CA for https (tests); system CAs always apply
};

namespace detail {
struct notifier_state;
}

class notifier
{
public:
    // url() is read when an event is queued and again when it is sent, so config edits apply at
    // once; "" means notifications are off.
    notifier(asio::any_io_executor ex, std::function<std::string()> url, settings s = {});
    ~notifier();
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    // Queues e and returns immediately (no I/O, no suspension). A no-op while the URL is empty.
    void notify(event e);

    // Events queued or being sent.
    std::size_t pending() const;

    // Drops the queue and stops after the current try (shutdown). The background coroutine owns
    // its state, so the notifier may be destroyed while a try is still unwinding.
    void stop();

private:
    std::shared_ptr<detail::notifier_state> st_;
};

// Pure: the POST a notification is sent as. Fails (errc::invalid_argument) on a URL that is not
// http(s)://host[:port][/path][?query]; user:password@ in the URL becomes Basic auth.
struct target
{
    bool tls = false;
    std::string host;           // for resolving and SNI (IPv6 without brackets)
    std::string port;           // "80" / "443" unless given
    std::string host_header;    // host[:port] as written
    std::string path;           // origin-form target, "/" at least
    std::string authorization;  // "Basic ..." or ""
};
result<target> parse_target(std::string_view url);

}  // namespace imagewatch::notify
