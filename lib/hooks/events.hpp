#pragma once
// Inbound webhook payloads (docs/http-api.md "Inbound webhooks") reduced to the tags they say were pushed. Pure.
//
// GitHub: `package` and `registry_package` events, actions published/updated, container packages
// on ghcr.io. Distribution: CNCF distribution notification envelopes, `push` events with a tag.
// Anything else in a well-formed payload (pings, pulls, blob pushes, untagged versions, other
// package types) yields no tags rather than an error, so the sender sees success.
#include "core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::hooks {

struct pushed_tag
{
    std::string host;        // registry host[:port] as the sender saw it, lower case ("" = unknown)
    std::string repository;  // "owner/name", lower case
    std::string tag;
    std::string digest = {};  // what the tag now points at per the sender ("" = not said)
    friend bool operator==(const pushed_tag&, const pushed_tag&) = default;
};

// event: the X-GitHub-Event header; content_type: the request's Content-Type (JSON, or the
// form encoding whose `payload` field holds the JSON). Fails (errc::invalid_argument) only on a
// body that is not the JSON object GitHub sends. Tags are de-duplicated, host is "ghcr.io".
result<std::vector<pushed_tag>> parse_github_event(std::string_view event, std::string_view content_type,
                                                   std::string_view body);

// {"events":[{"action":"push","target":{"repository":..,"tag":..},"request":{"host":..}}, ...]}.
// The host is request.host (the Host header the registry received), else target.url's authority.
// Fails (errc::invalid_argument) when the body is not an object with an "events" array.
result<std::vector<pushed_tag>> parse_registry_events(std::string_view body);

}  // namespace imagewatch::hooks
