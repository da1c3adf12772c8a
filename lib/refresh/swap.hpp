#pragma once
// The safe swap of one container onto a freshly pulled image (docs/swap.md). Orchestration over
// docker::api: rename old away, stop it, create + start the replacement under the original name,
// verify, then remove the old one — or roll back so the original runs again under its name.
#include "core/awaitable.hpp"
#include "docker/api.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <string>

namespace imagewatch::refresh {

struct swap_settings
{
    std::chrono::seconds stop_default{10};             // when the container has no StopTimeout
    std::chrono::milliseconds health_timeout{60'000};  // healthcheck must report healthy within this
    std::chrono::milliseconds grace{2'000};            // no healthcheck: must stay running this long
    std::chrono::milliseconds poll{200};
};

// Replaces the container described by `inspect` (its GET /containers/{id}/json) with one created
// from `image` (the reference as the container was configured with, now pointing at the pulled
// image). On any failure after the rename, the replacement is removed and the original is renamed
// back and restarted if it was running; the error says what failed and whether rollback worked.
// Never leaves the original missing.
awaitable<result<void>> swap_container(docker::api& docker, boost::json::object inspect, std::string image,
                                       swap_settings settings);

}  // namespace imagewatch::refresh
