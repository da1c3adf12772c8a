#include "net/dns.hpp"

#include "core/duration.hpp"
#include "core/file_stamp.hpp"
#include "core/host_port.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "net/dns_cache.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>

#include <ares.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <memory>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace imagewatch::net {

namespace {

using steady = std::chrono::steady_clock;

constexpr const char* resolv_conf = "/etc/resolv.conf";

// One name being looked up, shared by every caller waiting for it. A waiter sleeps on its own
// timer set to its own deadline; the answer cancels those timers to wake them early.
struct lookup
{
    std::string host;
    std::optional<result<addresses>> answer;
    std::vector<asio::steady_timer*> waiters;
};

error lookup_error(const std::string& host, int status)
{
    const std::string what = "DNS lookup of " + host + ": ";
    switch (status)
    {
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
    case ARES_ENODATA: return make_error(errc::unreachable, what + "no such host");
    case ARES_ETIMEOUT: return make_error(errc::timed_out, what + "the name servers did not answer");
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return make_error(errc::cancelled, what + "cancelled");
    default: return make_error(errc::unreachable, what + ares_strerror(status));
    }
}

// Addresses of a c-ares answer in its order (sorted by RFC 6724), without repeats, and the
// smallest TTL among them.
std::pair<addresses, long> addresses_of(const ares_addrinfo* ai)
{
    addresses out;
    long ttl = LONG_MAX;
    for (const ares_addrinfo_node* n = ai ? ai->nodes : nullptr; n; n = n->ai_next)
    {
        if (!(n->ai_family == AF_INET && n->ai_addrlen >= sizeof(sockaddr_in)) &&
            !(n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(sockaddr_in6)))
            continue;
        // The endpoint reads either family's sockaddr (a v6 address keeps its scope ID).
        asio::ip::tcp::endpoint ep;
        std::memcpy(ep.data(), n->ai_addr, std::min<std::size_t>(n->ai_addrlen, ep.capacity()));
        const auto a = ep.address();
        if (std::find(out.begin(), out.end(), a) == out.end())
            out.push_back(a);
        ttl = std::min<long>(ttl, n->ai_ttl);
    }
    return {std::move(out), out.empty() ? 0 : ttl};
}

// The c-ares channel of one io_context: its sockets are watched by the io_context's reactor and a
// timer drives its retransmissions, so lookups need no thread of their own. Single-threaded like
// the io_context it serves.
class dns_service : public asio::execution_context::service
{
public:
    static inline asio::execution_context::id id;

    explicit dns_service(asio::execution_context& ctx) : service(ctx) {}
    ~dns_service() override { close_channel(); }

    void set_servers(std::string servers) { servers_ = std::move(servers); }

    std::optional<addresses> cached(const std::string& host) const { return cache_.find(host, steady::now()); }

    // The lookup of host: one in flight, or a new one. Its answer may already be there (a name
    // in /etc/hosts is answered at once).
    result<std::shared_ptr<lookup>> start(const asio::any_io_executor& ex, const std::string& host)
    {
        if (auto it = in_flight_.find(host); it != in_flight_.end())
            return it->second;
        if (auto r = open_channel(ex); !r)
            return r.error();
        auto l = std::make_shared<lookup>();
        l->host = host;
        in_flight_.emplace(host, l);
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &dns_service::on_answer, new pending{this, l});
        arm_timer();
        return l;
    }

    void shutdown() override { close_channel(); }

private:
    struct pending
    {
        dns_service* self;
        std::shared_ptr<lookup> l;
    };

    // A socket c-ares opened. c-ares owns the descriptor: it is released, never closed, here.
    struct watched
    {
        watched(const asio::any_io_executor& ex, ares_socket_t s) : fd(s), d(ex) {}
        ares_socket_t fd;
        asio::posix::stream_descriptor d;
        bool want_read = false, want_write = false;
        bool reading = false, writing = false;  // an async_wait is pending
        bool gone = false;                      // c-ares closed it
    };

    // A channel with the system configuration, or a fresh one when /etc/resolv.conf changed and
    // no lookup is in flight on the old one.
    result<void> open_channel(const asio::any_io_executor& ex)
    {
        auto stamp = stamp_of(resolv_conf);
        if (channel_ && (stamp == conf_stamp_ || !in_flight_.empty()))
            return {};
        close_channel();
        static const int library = ares_library_init(ARES_LIB_INIT_ALL);
        (void)library;  // on Linux there is nothing to fail; ares_init_options reports any problem
        ex_ = ex;
        timer_.emplace(ex);
        ares_options o{};
        o.sock_state_cb = &dns_service::on_socket_state;
        o.sock_state_cb_data = this;
        if (int rc = ares_init_options(&channel_, &o, ARES_OPT_SOCK_STATE_CB); rc != ARES_SUCCESS)
        {
            channel_ = nullptr;
            return make_error(errc::failed, std::string("DNS resolver setup: ") + ares_strerror(rc));
        }
        if (!servers_.empty())
            if (int rc = ares_set_servers_ports_csv(channel_, servers_.c_str()); rc != ARES_SUCCESS)
            {
                close_channel();
                return make_error(errc::invalid_argument, "DNS servers \"" + servers_ + "\": " + ares_strerror(rc));
            }
        conf_stamp_ = stamp;
        return {};
    }

    void close_channel()
    {
        if (!channel_)
            return;
        closing_ = true;
        ares_destroy(channel_);  // answers pending lookups with ARES_EDESTRUCTION, closes the sockets
        closing_ = false;
        channel_ = nullptr;
        for (auto& [fd, w] : sockets_)
        {
            w->gone = true;
            w->d.release();
        }
        sockets_.clear();
        in_flight_.clear();
        timer_.reset();
    }

    static void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* ai)
    {
        std::unique_ptr<pending> p(static_cast<pending*>(arg));
        std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(ai, &ares_freeaddrinfo);
        if (p->self->closing_)
            return;  // the io_context is going away; its coroutines with it
        p->self->answered(*p->l, status, ai);
    }

    void answered(lookup& l, int status, const ares_addrinfo* ai)
    {
        in_flight_.erase(l.host);
        if (status == ARES_SUCCESS)
        {
            auto [addrs, ttl] = addresses_of(ai);
            if (addrs.empty())
                l.answer = make_error(errc::unreachable, "DNS lookup of " + l.host + ": no address");
            else
            {
                cache_.store(l.host, addrs, cache_ttl(ttl), steady::now());
                l.answer = std::move(addrs);
            }
        }
        else
            l.answer = lookup_error(l.host, status);
        for (auto* t : l.waiters)
            t->cancel();
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable)
    {
        static_cast<dns_service*>(data)->socket_state(fd, readable != 0, writable != 0);
    }

    void socket_state(ares_socket_t fd, bool readable, bool writable)
    {
        auto it = sockets_.find(fd);
        if (!readable && !writable)
        {
            if (it != sockets_.end())
            {
                it->second->gone = true;
                it->second->d.release();  // deregisters and cancels the waits; c-ares closes the fd
                sockets_.erase(it);
            }
            return;
        }
        if (it == sockets_.end())
        {
            auto w = std::make_shared<watched>(ex_, fd);
            boost::system::error_code ec;
            w->d.assign(fd, ec);
            if (ec)
            {
                // Unwatched, the socket's queries end at c-ares' own timeout.
                log::warn("DNS: cannot watch a resolver socket", {{"error", ec.message()}});
                return;
            }
            it = sockets_.emplace(fd, std::move(w)).first;
        }
        auto& w = it->second;
        w->want_read = readable;
        w->want_write = writable;
        if (readable && !w->reading)
            wait(w, asio::posix::descriptor_base::wait_read);
        if (writable && !w->writing)
            wait(w, asio::posix::descriptor_base::wait_write);
    }

    void wait(const std::shared_ptr<watched>& sock, asio::posix::descriptor_base::wait_type type)
    {
        const bool read = type == asio::posix::descriptor_base::wait_read;
        (read ? sock->reading : sock->writing) = true;
        sock->d.async_wait(type, [this, weak = std::weak_ptr<watched>(sock), type, read](boost::system::error_code ec) {
            auto w = weak.lock();
            if (!w || w->gone || ec == asio::error::operation_aborted)
                return;  // released: the service may be gone too, so touch nothing
            (read ? w->reading : w->writing) = false;
            ares_process_fd(channel_, read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
            // c-ares may have closed the socket meanwhile (then gone), or still want it.
            if (!w->gone && (read ? w->want_read : w->want_write) && !(read ? w->reading : w->writing))
                wait(w, type);
            arm_timer();
        });
    }

    // Retransmissions and c-ares' own timeouts: wake when the earliest one is due.
    void arm_timer()
    {
        if (!channel_)
            return;
        timeval tv{};
        if (!ares_timeout(channel_, nullptr, &tv))
        {
            timer_->cancel();
            return;
        }
        timer_->expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
        timer_->async_wait([this](boost::system::error_code ec) {
            if (ec)
                return;  // re-armed or torn down
            ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            arm_timer();
        });
    }

    std::string servers_;
    ares_channel channel_ = nullptr;
    std::optional<file_stamp> conf_stamp_;
    asio::any_io_executor ex_;
    std::optional<asio::steady_timer> timer_;
    std::map<ares_socket_t, std::shared_ptr<watched>> sockets_;
    std::map<std::string, std::shared_ptr<lookup>, std::less<>> in_flight_;
    dns_cache cache_;
    bool closing_ = false;
};

endpoints with_port(const addresses& a, std::uint16_t port)
{
    endpoints out;
    out.reserve(a.size());
    for (const auto& addr : a)
        out.emplace_back(addr, port);
    return out;
}

}  // namespace

std::optional<asio::ip::address> ip_literal(std::string_view host)
{
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto a = asio::ip::make_address(std::string(host), ec);
    if (ec)
        return std::nullopt;
    return a;
}

void use_name_servers(asio::execution_context& ctx, std::string servers)
{
    asio::use_service<dns_service>(ctx).set_servers(std::move(servers));
}

awaitable<result<endpoints>> resolve(std::string host, std::string port, steady::time_point deadline)
{
    const auto asked = steady::now();
    auto p = parse_port(port);
    if (!p)
        co_return p.error();
    if (auto ip = ip_literal(host))
        co_return endpoints{{*ip, *p}};
    if (host.empty())
        co_return make_error(errc::invalid_argument, "empty host name");
    host = ascii_lower(host);

    auto ex = co_await asio::this_coro::executor;
    auto& dns = asio::use_service<dns_service>(asio::query(ex, asio::execution::context));
    if (auto hit = dns.cached(host))
        co_return with_port(*hit, *p);
    auto started = dns.start(ex, host);
    if (!started)
        co_return started.error();
    auto l = *started;
    if (!l->answer)
    {
        asio::steady_timer timer(ex, deadline);
        l->waiters.push_back(&timer);
        struct leave
        {
            lookup& l;
            asio::steady_timer* t;
            ~leave() { std::erase(l.waiters, t); }
        } on_exit{*l, &timer};
        auto [ec] = co_await timer.async_wait(nothrow_awaitable);
        if (!l->answer && ec)
            co_return make_error(errc::cancelled, "DNS lookup of " + host + ": cancelled");
        if (!l->answer)
            co_return make_error(errc::timed_out, "DNS lookup of " + host + ": no answer within " +
                                                      format_duration(std::chrono::round<std::chrono::milliseconds>(
                                                          std::max(deadline - asked, steady::duration::zero()))));
    }
    if (!*l->answer)
        co_return l->answer->error();
    co_return with_port(**l->answer, *p);
}

}  // namespace imagewatch::net
