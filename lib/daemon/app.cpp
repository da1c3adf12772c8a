#include "daemon/app.hpp"

#include "admin/refresh_command.hpp"
#include "admin/server.hpp"
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/timeout.hpp"
#include "core/version.hpp"
#include "daemon/admin_backend.hpp"
#include "daemon/admin_listeners.hpp"
#include "daemon/cli.hpp"
#include "daemon/file_watch.hpp"
#include "daemon/readiness.hpp"
#include "daemon/reload.hpp"
#include "daemon/signals.hpp"
#include "daemon/status.hpp"
#include "daemon/token_file.hpp"
#include "docker/client.hpp"
#include "docker/registry_auth.hpp"
#include "hooks/scheduler.hpp"
#include "notify/digest_book.hpp"
#include "notify/notifier.hpp"
#include "refresh/reconcile.hpp"
#include "refresh/service.hpp"
#include "registry/client.hpp"
#include "registry/credentials.hpp"
#include "registry/options_cache.hpp"
#include "self/self.hpp"
#include "watch/census.hpp"
#include "watch/refresh_queue.hpp"
#include "watch/watcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>

namespace imagewatch::daemon {
namespace {

// Distinct (host, code) pairs of imagewatch_registry_requests_total: every registry and token
// realm of a large config with its usual codes, yet a bound on what servers can make us keep.
constexpr std::size_t max_request_series = 256;

void describe_metrics()
{
    auto& m = metrics::global();
    m.describe("imagewatch_build_info", "gauge", "Build information.");
    m.describe("imagewatch_checks_total", "counter", "Registry digest checks by runtime and result.");
    m.describe("imagewatch_refreshes_total", "counter", "Refreshes (pull + replace) by runtime and result.");
    m.describe("imagewatch_containers_replaced_total", "counter", "Container replacements by runtime and result.");
    m.describe("imagewatch_registry_requests_total", "counter",
               "Registry HTTP requests by host, method and status code.");
    m.describe("imagewatch_check_duration_seconds", "histogram", "Duration of registry digest checks.");
    m.describe("imagewatch_last_check_timestamp_seconds", "gauge", "Unix time of the last digest check per runtime.");
    m.describe("imagewatch_config_reloads_total", "counter", "Config reloads by result.");
    m.describe("imagewatch_webhooks_total", "counter", "Inbound webhook deliveries by hook and result.");
    m.describe("imagewatch_services_updated_total", "counter",
               "Swarm service updates by runtime and result (updated, skipped, rolled_back, paused, failed).");
    m.describe("imagewatch_notify_total", "counter", "Outbound refresh notifications by result (ok, error, dropped).");
    m.describe("imagewatch_rollouts_total", "counter", "Rollouts by runtime and result (started, halted, done).");
    m.describe("imagewatch_swaps_in_flight", "gauge", "Container swaps in progress, all runtimes.");
    m.set("imagewatch_swaps_in_flight", {}, 0);
    m.set("imagewatch_build_info", {{"version", version()}}, 1);
}

// Completion handler for spawned tasks: an exception is a bug; log it rather than lose it.
auto log_exception(std::string what)
{
    return [what](std::exception_ptr e) {
        if (e)
            log::error("task failed", {{"task", what}, {"error", exception_message(e)}});
    };
}

// Many idle admin connections, registry connections and the Docker socket all take descriptors:
// use the hard limit rather than the often tiny soft default.
void raise_fd_limit()
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// An io_context whose pending handlers (suspended coroutine frames) can be destroyed before the
// objects those frames use; its destructor would do it only after them.
class io_context : public asio::io_context
{
public:
    io_context() : asio::io_context(1) {}
    using asio::io_context::shutdown;
};

class app
{
public:
    app(asio::io_context& ioc, options opts, std::string config_path, config::config cfg, std::string config_text)
        : ioc_(ioc),
          opts_(std::move(opts)),
          config_path_(std::move(config_path)),
          cfg_(std::move(cfg)),
          config_hash_(config::config_hash(config_text)),
          loaded_at_(std::chrono::system_clock::now()),
          last_text_(std::move(config_text))
    {}

    refresh::settings refresh_settings() const
    {
        auto s = refresh::settings_from(cfg_);
        s.self_id = self_.id;
        return s;
    }

    result<void> init_docker()
    {
        self_ = self::detect();
        if (!self_.id.empty())
            log::info("running in a container; it is never replaced",
                      {{"container_id", self_.id.substr(0, 12)}, {"source", self_.source}});
        auto c = docker::make_client(ioc_.get_executor(), {.host = cfg_.docker.host,
                                                           .connect_timeout = cfg_.timeouts.connect,
                                                           .request_timeout = cfg_.timeouts.request});
        if (!c)
            return c.error();
        docker_ = std::move(*c);
        service_ = std::make_unique<refresh::service>(ioc_.get_executor(), *docker_,
                                                      [this](image_ref ref) { return registry_auth(std::move(ref)); });
        queue_ = std::make_unique<watch::refresh_queue>(ioc_.get_executor(), *service_,
                                                        [this] { return refresh_settings(); });
        // Every refresh (watcher, admin, webhook) passes through the queue: one notification each.
        notifier_ = std::make_unique<notify::notifier>(ioc_.get_executor(), [this] { return cfg_.notify.webhook_url; });
        queue_->on_outcome([this](const config::runtime& rt, const refresh::outcome& out) {
            if (!out.result.services.empty())
                last_services_[rt.name] = out.result.services;
            notify_outcome(rt, out);
        });

        registry::client_settings rs;
        rs.connect_timeout = cfg_.timeouts.connect;
        rs.request_timeout = cfg_.timeouts.request;
        rs.host_options_for = [this](std::string_view host) { return registry_options(host); };
        rs.on_request = [this](std::string_view host, std::string_view method, unsigned status) {
            // Token realm hosts and status codes are the servers' choice: past a bound, new
            // (host, code) pairs are counted as host="other", code="other".
            auto code = std::to_string(status);
            bool named = request_series_(std::string(host) + ' ' + code) != "other";
            metrics::global().inc("imagewatch_registry_requests_total",
                                  {{"host", named ? host : "other"},
                                   {"method", method},
                                   {"code", named ? std::string_view(code) : "other"}});
        };
        registry_ = registry::make_client(ioc_.get_executor(), rs);
        watcher_ = std::make_unique<watch::watcher>(ioc_.get_executor(), *registry_, *docker_, *queue_,
                                                    [this] { return platform(); });
        return {};
    }

    // --once: one refresh, JSON on stdout.
    int run_once()
    {
        auto rts = cfg_.select_runtimes(opts_.runtime);
        if (opts_.runtime && rts.empty())
        {
            std::string known;
            for (const auto& r : cfg_.runtimes)
                known += (known.empty() ? "" : ", ") + r.name;
            std::fprintf(stderr, "imagewatch: unknown runtime: %s (known: %s)\n", opts_.runtime->c_str(),
                         known.c_str());
            return 2;
        }
        std::optional<refresh::outcome> out;
        asio::co_spawn(ioc_, once(rts, !opts_.no_recreate), [&](std::exception_ptr e, refresh::outcome o) {
            if (e)
                std::rethrow_exception(e);
            out = std::move(o);
        });
        ioc_.run();
        if (!out)
            return 1;
        std::cout << refresh::to_json(*out) << std::endl;
        return out->fatal || !out->result.ok() ? 1 : 0;
    }

    int run_daemon()
    {
        auto srv = admin::bind_server(ioc_.get_executor(), cfg_.admin.listen, admin_);
        if (!srv && srv.error().code == errc::invalid_argument)
        {
            // The config names something that cannot be ours (a file at the socket path): a config
            // error like any other, one line on stderr.
            std::fprintf(stderr, "imagewatch: invalid config: %s\n", srv.error().message.c_str());
            return 2;
        }
        if (!srv)
        {
            log::error("cannot start admin listener", {{"error", srv.error().message}});
            return 1;
        }
        listeners_.replace(std::move(*srv));
        auto& server = *listeners_.current();
        log::info("imagewatch started", {{"version", std::string(version())},
                                         {"config", config_path_},
                                         {"admin", server.local_address()},
                                         {"runtimes", std::to_string(cfg_.runtimes.size())},
                                         {"docker", cfg_.docker.host.text}});
        if (!admin_.admin_token())
            log::warn("no admin token configured: /admin/* answers 503 until one is set",
                      {{"token_env", cfg_.admin.token_env}});
        log::info(cfg_.watch.enabled ? "watching" : "watch disabled (checks run only when triggered)",
                  {{"interval", format_duration(cfg_.watch.interval)}, {"jitter", format_duration(cfg_.watch.jitter)}});
        const auto token = admin::token_placeholder(cfg_.admin.token_env, cfg_.admin.token_file);
        log::info("trigger a refresh with", {{"command", admin::refresh_command(server.local_address(), token)}});
        spawn_server(server);
        asio::co_spawn(ioc_, start_when_docker_answers(), log_exception("docker ping"));
        signal_actions on_signal{[this] { reload(reload_trigger::sighup); },
                                 [this](int sig) { asio::co_spawn(ioc_, shutdown(sig), log_exception("shutdown")); },
                                 [this] {
                                     log::warn("second stop signal: exiting now");
                                     ioc_.stop();
                                 }};
        signals_.emplace(ioc_, SIGINT, SIGTERM, SIGHUP);
        asio::co_spawn(ioc_, handle_signals(*signals_, std::move(on_signal)), log_exception("signals"));
        if (auto fw = watch_file(ioc_.get_executor(), config_path_))
        {
            file_watch_ = std::move(*fw);
            asio::co_spawn(ioc_, file_watch_->run([this] { reload(reload_trigger::file_change); }),
                           log_exception("config watch"));
        }
        else
            log::warn("config file is not watched; reload with SIGHUP", {{"error", fw.error().message}});
        ioc_.run();
        log::info("imagewatch stopped", {{"drained", drained_ ? "true" : "false"}});
        return 0;
    }

    // Containers are counted now, from one container list: the watcher's figure is only as fresh
    // as its last check, and there is none with watch.enabled off. Docker slow or unreachable: the
    // last count stands.
    awaitable<status_snapshot> status_now()
    {
        auto counted =
            co_await with_timeout(census_.count(*docker_, cfg_.runtimes), status_docker_timeout, "container list");
        if (counted)
            for (const auto& [name, n] : *counted)
                last_counts_[name] = n;
        else
            log::warn("status: containers not counted; showing the last count", {{"error", counted.error().message}});
        status_snapshot snap;
        snap.version = version();
        snap.config_path = config_path_;
        snap.loaded_at = loaded_at_;
        snap.config_hash = config_hash_;
        snap.last_reload_error = last_reload_error_;
        snap.watch_enabled = cfg_.watch.enabled;
        snap.runtimes = status_rows(watcher_->status(), cfg_.runtimes, last_counts_);
        for (auto& row : snap.runtimes)
            row.rollout = service_->rollout_of(row.name);
        snap.watch_tasks = watcher_->tasks();
        snap.services = last_services_;
        co_return snap;
    }

    // Watcher triggers work with watch.enabled off too: a disabled task still wakes on a trigger.
    std::vector<std::string> schedule_checks(std::vector<hooks::check_request> checks)
    {
        if (!check_scheduler_)
            check_scheduler_ = std::make_unique<hooks::check_scheduler>(
                ioc_.get_executor(), [this](const std::string& n) { return watcher_->trigger(n); },
                [this](const std::string& n) {
                    const auto* st = watcher_->status_of(n);
                    return st ? hooks::observed{st->last_check, st->digest} : hooks::observed{};
                });
        for (const auto& c : checks)
            notified_.note(c.runtime, watched_digest(c.runtime));  // the notification's old_digest
        return check_scheduler_->schedule(checks);
    }

private:
    // The registry digest the watcher last saw for a runtime (nullopt before its first check).
    std::optional<std::string> watched_digest(const std::string& runtime) const
    {
        const auto* st = watcher_->status_of(runtime);
        return st ? st->digest : std::nullopt;
    }

    // One outbound notification per refresh outcome; queued, never awaited (notify.webhook_url).
    void notify_outcome(const config::runtime& rt, const refresh::outcome& out)
    {
        if (cfg_.notify.webhook_url.empty())
            return;
        // A deferred update is decided again at every check: it is told once it applies.
        if (!out.result.deferred.empty())
            return;
        notify::event e;
        e.runtime = rt.name;
        e.image = rt.image.str();
        e.outcome = out;
        e.new_digest = watched_digest(rt.name);
        e.old_digest = notified_.exchange(rt.name, e.new_digest);
        notifier_->notify(std::move(e));
    }

    // Credentials for the Engine's pull: the same sources as the registry checks, helpers included.
    awaitable<std::string> registry_auth(image_ref ref)
    {
        auto creds = co_await registry::resolve_credentials_async(cfg_, ref.registry, process_env());
        if (!creds)
            co_return std::string();
        if (creds->identity_token)
            co_return docker::encode_registry_identity_token(creds->password, ref.registry);
        co_return docker::encode_registry_auth(creds->username, creds->password, ref.registry);
    }

    awaitable<refresh::outcome> once(std::vector<config::runtime> rts, bool recreate)
    {
        if (recreate)
            co_await refresh::reconcile(*docker_, cfg_.runtimes);
        auto out = co_await service_->refresh(rts, recreate, refresh_settings());
        refresh::count(rts, out);
        refresh::log_outcome(out);
        co_return out;
    }

    // Registry settings from the live config: CA file, plain HTTP, credentials or the credential
    // helper the docker config names; cached briefly, and afresh after every reload.
    registry::host_options registry_options(std::string_view host)
    {
        return registry_options_.get(host, std::chrono::steady_clock::now(), [this](std::string_view h) {
            return registry::host_options_from(cfg_, h, process_env());
        });
    }

    // Platform for index digests: the config (or IMAGE_PLATFORM), else the daemon's.
    std::string platform() const { return cfg_.docker.platform.empty() ? daemon_platform_ : cfg_.docker.platform; }

    void spawn_server(admin::server& s) { asio::co_spawn(ioc_, s.run(), log_exception("admin server")); }

    // Checks start once the engine answered and the swaps an earlier run left are resolved.
    awaitable<void> start_when_docker_answers()
    {
        auto v = co_await wait_for_docker(*docker_, ping_timer_, readiness_, cfg_.docker.host.text);
        if (!v)
            co_return;  // stopping
        daemon_platform_ = v->os + "/" + v->arch;
        readiness_.not_ready("docker: finishing or undoing container swaps an earlier run left");
        co_await refresh::reconcile(*docker_, cfg_.runtimes);
        readiness_.mark_ready();
        if (!stopping_)
            watcher_->apply(cfg_);
    }

    // Graceful stop: no new requests; an in-flight swap finishes (up to timeouts.shutdown), queued
    // notifications go out, and then every task the daemon started ends (listeners, sessions,
    // watch checks, timers) before the loop stops.
    awaitable<void> shutdown(int sig)
    {
        stopping_ = true;
        log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        listeners_.close_all();
        if (file_watch_)
            file_watch_->close();
        ping_timer_.cancel();
        watcher_->stop();
        const auto deadline = std::chrono::steady_clock::now() + cfg_.timeouts.shutdown;
        bool told = false;
        // Refreshes in flight finish; then queued notifications (retries included) go out.
        while ((service_->busy() || queue_->busy() || notifier_->pending() > 0) &&
               std::chrono::steady_clock::now() < deadline)
        {
            if (!told && !service_->busy() && !queue_->busy())
            {
                told = true;
                log::info("waiting for notifications to be sent", {{"pending", std::to_string(notifier_->pending())}});
            }
            co_await sleep_for(std::chrono::milliseconds(100));
        }
        if (service_->busy())
            log::warn("shutdown timeout reached with a refresh in flight");
        if (auto n = notifier_->pending(); n > 0)
            log::warn("shutdown timeout reached; notifications not sent", {{"pending", std::to_string(n)}});
        notifier_->stop();
        check_scheduler_.reset();  // its follow-ups end at their next wake-up
        signals_->cancel();
        // Checks and admin sessions leave at their next step; the registry client (and its idle
        // connection sweeper) goes once no check can use it.
        const auto drained = [this] {
            return watcher_->drained() && listeners_.finished() && !service_->busy() && !queue_->busy();
        };
        const auto grace = std::chrono::steady_clock::now() + drain_grace;
        while (!drained() && std::chrono::steady_clock::now() < grace)
            co_await sleep_for(std::chrono::milliseconds(10));
        if (!drained())
        {
            log::warn("stop: tasks still running after the grace period; leaving them suspended");
            ioc_.stop();  // run_main destroys them before the objects they use
            co_return;
        }
        watcher_.reset();
        registry_.reset();
        drained_ = true;
        // What may still wait is below the daemon's own tasks (an idle connection's expiry timer):
        // nothing to finish, so the loop ends now and run_main destroys it.
        ioc_.stop();
    }

    void reload(reload_trigger why)
    {
        if (stopping_)
            return;
        if (file_watch_)
            file_watch_->rearm();  // a symlink swap may have moved the file to another directory
        auto read = config::read_text(config_path_);
        if (!worth_parsing(why, last_reload_error_.has_value(), read ? &*read : nullptr, last_text_))
            return;
        const std::string trigger(trigger_name(why));
        std::string text = read ? std::move(*read) : std::string();
        auto next = read ? config::parse_file(config_path_, text, process_env()) : result<config::config>(read.error());
        last_text_ = text;
        const auto failed = [&](const std::string& message, const char* what) {
            last_reload_error_ = message;
            metrics::global().inc("imagewatch_config_reloads_total", {{"result", "error"}});
            log::error(what, {{"trigger", trigger}, {"error", message}});
        };
        if (!next)
            return failed(next.error().message, "config reload failed; keeping the running config");
        const auto plan = plan_reload(config::diff(cfg_, *next));
        if (plan.rebind_admin)
        {
            auto srv = admin::bind_server(ioc_.get_executor(), next->admin.listen, admin_);
            if (!srv)
                return failed(srv.error().message,
                              "config reload: cannot bind new admin.listen; keeping the running config");
            listeners_.replace(std::move(*srv));
            spawn_server(*listeners_.current());
        }
        if (plan.docker_host_ignored)
            log::warn("docker.host changed: takes effect after a restart", {{"docker", next->docker.host.text}});
        if (plan.set_timeouts)
        {
            docker_->set_timeouts(next->timeouts.connect, next->timeouts.request);
            registry_->set_timeouts(next->timeouts.connect, next->timeouts.request);
        }
        cfg_ = std::move(*next);
        registry_options_.clear();  // credentials may come from files and variables diff cannot see
        if (plan.apply_watch && readiness_.ready())
            watcher_->apply(cfg_);
        notified_.keep_only(admin_.runtime_names());
        config_hash_ = config::config_hash(text);
        loaded_at_ = std::chrono::system_clock::now();
        last_reload_error_.reset();
        metrics::global().inc("imagewatch_config_reloads_total", {{"result", "ok"}});
        log::info("config reloaded", {{"trigger", trigger}, {"hash", log::short_digest(config_hash_)}});
    }

    asio::io_context& ioc_;
    options opts_;
    std::string config_path_;
    config::config cfg_;
    std::string config_hash_;
    std::chrono::system_clock::time_point loaded_at_;
    std::string last_text_;
    std::optional<std::string> last_reload_error_;
    std::unique_ptr<file_watch> file_watch_;
    std::unique_ptr<docker::api> docker_;
    std::unique_ptr<refresh::service> service_;
    self::identity self_;
    std::unique_ptr<watch::refresh_queue> queue_;
    std::unique_ptr<registry::client> registry_;
    std::unique_ptr<watch::watcher> watcher_;
    std::unique_ptr<notify::notifier> notifier_;
    watch::container_census census_;
    std::map<std::string, int> last_counts_;  // runtime -> containers at the last successful count
    std::map<std::string, std::vector<refresh::service_report>>
        last_services_;  // runtime -> its last refresh's services
    static constexpr auto status_docker_timeout = std::chrono::seconds(2);
    registry::options_cache registry_options_;
    metrics::bounded_label request_series_{max_request_series};  // "<host> <code>" pairs named in metrics
    std::unique_ptr<hooks::check_scheduler> check_scheduler_;    // created at the first webhook
    notify::digest_book notified_;
    std::string daemon_platform_ = "linux/amd64";
    readiness readiness_;
    // The admin routes' view of the daemon: every refresh they ask for goes through the queue.
    admin_backend admin_{
        cfg_, readiness_,
        admin_ports{[this](std::vector<config::runtime> rts, refresh::request rq) {
                        return queue_->run_all(std::move(rts), std::move(rq));
                    },
                    [this] { return status_now(); },
                    [this](std::vector<hooks::check_request> c) { return schedule_checks(std::move(c)); }}};
    admin_listeners listeners_;  // after admin_: servers use it until they are gone
    asio::steady_timer ping_timer_{ioc_};
    std::optional<asio::signal_set> signals_;  // the daemon's; --once keeps the default actions
    static constexpr auto drain_grace = std::chrono::seconds(5);
    bool stopping_ = false;
    bool drained_ = false;  // every task the daemon started ended before the loop stopped
};

}  // namespace

int run_main(const std::vector<std::string>& args)
{
    auto opts = parse_args(args);
    if (!opts)
    {
        std::fprintf(stderr, "imagewatch: %s\n", opts.error().message.c_str());
        return 2;
    }
    if (opts->help)
    {
        std::fputs(usage().c_str(), stdout);
        return 0;
    }
    if (opts->version)
    {
        std::printf("imagewatch %.*s\n", static_cast<int>(version().size()), version().data());
        return 0;
    }
    log::configure(opts->log_level, opts->log_format);
    const auto env = process_env();
    const std::string path = opts->config_path ? *opts->config_path : config::default_config_path(env);
    std::string text;
    auto cfg = config::load_file(path, env, &text);
    if (opts->check_config)
    {
        if (!cfg)
        {
            std::fprintf(stdout, "%s\n", cfg.error().message.c_str());
            return 2;
        }
        if (auto t = check_token_file(cfg->admin.token_file); !t)
        {
            std::fprintf(stdout, "%s\n",
                         config::format_issue(path, {0, 0, "admin.token_file", t.error().message}).c_str());
            return 2;
        }
        std::puts("ok");
        return 0;
    }
    if (!cfg)
    {
        // One line on stderr (docs/cli.md "Exit codes"); --check-config shows every issue.
        std::string first = cfg.error().message.substr(0, cfg.error().message.find('\n'));
        std::fprintf(stderr, "imagewatch: invalid config: %s\n", first.c_str());
        return 2;
    }
    if (auto t = check_token_file(cfg->admin.token_file); !opts->once && !t)
    {
        std::fprintf(stderr, "imagewatch: invalid config: admin.token_file: %s\n", t.error().message.c_str());
        return 2;
    }

    describe_metrics();
    std::signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    io_context ioc;
    app a(ioc, *opts, path, std::move(*cfg), text);
    if (auto r = a.init_docker(); !r)
    {
        std::fprintf(stderr, "imagewatch: %s\n", r.error().message.c_str());
        return 2;
    }
    const int rc = opts->once ? a.run_once() : a.run_daemon();
    // After a drained stop nothing is pending. After a forced one (a second signal, or a task past
    // the grace period) suspended coroutines still point into the app: they are destroyed here,
    // while the app is alive, and the app's own timers and sockets after them.
    ioc.shutdown();
    return rc;
}

}  // namespace imagewatch::daemon
