#pragma once
// What a manifest check sends and how its answer is read (SPEC §4). Pure.
#include <chrono>
#include <optional>
#include <string_view>

namespace imagewatch::registry {

// The Accept header of every manifest request: index types first, so a multi-platform tag answers
// with its index digest (without them distribution converts to schema1 and reports another digest).
inline constexpr std::string_view manifest_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// "sha256:<64 lower-case hex>" or "sha512:<128 lower-case hex>".
bool is_valid_digest(std::string_view digest);

// Retry-After as delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", relative
// to now; a date in the past gives 0 s). nullopt when absent or malformed.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace imagewatch::registry
