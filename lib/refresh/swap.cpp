#include "refresh/swap.hpp"

#include "core/duration.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/timeout.hpp"
#include "docker/recreate_spec.hpp"
#include "refresh/recovery.hpp"
#include "refresh/select.hpp"

#include <boost/json/value.hpp>

namespace imagewatch::refresh {
namespace {

using boost::json::object;

// Waits until the new container proves itself: healthy when it has a healthcheck, else still
// running (not restarting, no restarts) for the whole grace period. Says which proof it got.
awaitable<result<std::string>> verify(docker::api& docker, std::string id, swap_settings s)
{
    auto first = co_await docker.inspect_container(id);
    if (!first)
        co_return first.error().wrap("verify: inspect");
    const object* st0 = object_field(*first, "State");
    const bool has_health = st0 && object_field(*st0, "Health") != nullptr;
    const auto restarts0 = int_field(st0, "RestartCount");
    const auto deadline = std::chrono::steady_clock::now() + (has_health ? s.health_timeout : s.grace);
    for (;;)
    {
        auto cur = co_await docker.inspect_container(id);
        if (!cur)
            co_return cur.error().wrap("verify: inspect");
        const object* st = object_field(*cur, "State");
        if (!bool_field(st, "Running") || bool_field(st, "Restarting") || int_field(st, "RestartCount") != restarts0)
        {
            auto code = st ? int_field(st, "ExitCode") : 0;
            co_return make_error(
                "new container did not stay running (exit code " + std::to_string(code) +
                (st && !string_field(*st, "Error").empty() ? ", " + string_field(*st, "Error") : std::string()) + ")");
        }
        if (has_health)
        {
            std::string hs = string_field(*object_field(*st, "Health"), "Status");
            if (hs == "healthy")
                co_return std::string("healthy");
            if (hs == "unhealthy")
                co_return make_error("new container reported unhealthy");
        }
        if (std::chrono::steady_clock::now() >= deadline)
        {
            if (has_health)
                co_return make_error(errc::timed_out,
                                     "new container not healthy within " + format_duration(s.health_timeout));
            co_return "running for " + format_duration(s.grace);
        }
        co_await sleep_for(s.poll);
    }
}

// Undoes a swap after the rename: remove the replacement (if created), restart the original if it
// was running, rename it back. Tries every step; the returned error carries all that failed. The
// rename comes last so that a crash in between leaves the original parked, under the name that
// tells recovery whether to start it.
awaitable<result<void>> rollback(docker::api& docker, std::string old_id, std::string name, std::string new_id,
                                 bool was_running, error cause)
{
    std::string notes;
    if (!new_id.empty())
        if (auto r = co_await docker.remove_container(new_id, true); !r)
            notes += "; rollback: remove replacement: " + r.error().message;
    if (was_running)
        if (auto r = co_await docker.start_container(old_id); !r)
            notes += "; rollback: restart original: " + r.error().message;
    if (auto r = co_await docker.rename_container(old_id, name); !r)
        notes += "; rollback: rename back: " + r.error().message;
    log::warn(notes.empty() ? "swap rolled back, original restored" : "swap rollback incomplete",
              {{"container", name}, {"error", cause.message + notes}});
    cause.message += notes.empty() ? " (rolled back, original restored)" : notes;
    co_return cause;
}

}  // namespace

awaitable<result<void>> swap_container(docker::api& docker, object inspect, std::string image, swap_settings s)
{
    const std::string old_id = string_field(inspect, "Id");
    std::string name = string_field(inspect, "Name");  // the API writes "/web"
    if (name.starts_with('/'))
        name.erase(0, 1);
    const std::string old_image_id = string_field(inspect, "Image");
    const object* state = object_field(inspect, "State");
    const bool was_running =
        bool_field(state, "Running") || bool_field(state, "Restarting") || bool_field(state, "Paused");

    // Step 1: everything needed to build the replacement, before touching anything.
    auto old_image = co_await docker.inspect_image(old_image_id);
    if (!old_image)
        co_return old_image.error().wrap("inspect old image");
    auto new_image = co_await docker.inspect_image(image);
    if (!new_image)
        co_return new_image.error().wrap("inspect new image");
    auto spec = docker::build_recreate_spec(inspect, *old_image, *new_image, image, old_id);
    if (!spec)
        co_return spec.error();

    // Step 2: move the original out of the way; from here on, failures roll back. The parked name
    // records whether it was running, for recovery after a crash.
    const std::string parked = old_name_for(name, was_running);
    if (auto r = co_await docker.rename_container(old_id, parked); !r)
        co_return r.error().wrap("rename to " + parked);

    std::string new_id;
    const auto fail = [&](error cause) {
        return rollback(docker, old_id, name, new_id, was_running, std::move(cause));
    };

    if (was_running)
    {
        std::chrono::seconds t = facts_from_inspect(inspect).stop_timeout.value_or(s.stop_default);
        if (t > docker::max_stop_timeout)
        {
            log::warn("stop timeout too long, using the maximum",
                      {{"container", name},
                       {"stop_timeout", std::to_string(t.count()) + "s"},
                       {"maximum", format_duration(docker::max_stop_timeout)}});
            t = docker::max_stop_timeout;
        }
        log::info("stopping old container", {{"container", name}, {"stop_timeout", std::to_string(t.count()) + "s"}});
        if (auto r = co_await docker.stop_container(old_id, t); !r)
            co_return co_await fail(r.error().wrap("stop"));
    }

    // Step 3: the replacement under the original name.
    auto created = co_await docker.create_container(name, spec->body);
    if (!created)
        co_return co_await fail(created.error().wrap("create"));
    new_id = *created;
    for (auto& [network, endpoint] : spec->extra_networks)
        if (auto r = co_await docker.connect_network(network, new_id, endpoint); !r)
            co_return co_await fail(r.error().wrap("connect network " + network));
    if (spec->start)
    {
        if (auto r = co_await docker.start_container(new_id); !r)
            co_return co_await fail(r.error().wrap("start"));
        // Step 4: prove it.
        auto proof = co_await verify(docker, new_id, s);
        if (!proof)
            co_return co_await fail(proof.error());
        log::info("new container verified", {{"container", name}, {"check", *proof}});
    }

    // Step 5: commit. A failed removal leaves a parked stopped container, not a broken service.
    if (auto r = co_await docker.remove_container(old_id, false); !r)
        log::warn("could not remove old container", {{"container", parked}, {"error", r.error().message}});
    co_return result<void>{};
}

}  // namespace imagewatch::refresh
