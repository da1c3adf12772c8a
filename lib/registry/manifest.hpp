#pragma once
// What a manifest check sends and how its answer is read (docs/watching.md "A check"): Accept types, digests,
// Retry-After, and the platform child of a multi-platform index. Pure.
#include "core/error.hpp"

#include <chrono>
#include <optional>
#include <string>
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
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// OCI image index or Docker manifest list: the media types of a multi-platform tag. Parameters and
// case are ignored ("application/vnd.oci.image.index.v1+json; charset=utf-8" is an index).
bool is_index_media_type(std::string_view content_type);

// The media type without parameters, lower-cased: "Application/JSON; charset=utf-8" -> "application/json".
std::string bare_media_type(std::string_view content_type);

// "<algorithm>:<hex>" of bytes, for the algorithm a digest names ("sha256" or "sha512"); nullopt for
// any other algorithm.
std::optional<std::string> content_digest(std::string_view bytes, std::string_view algorithm = "sha256");

struct platform
{
    std::string os;            // "linux"
    std::string architecture;  // "amd64", "arm64", "arm", "386", ...
    std::string variant;       // "v7", "v8" or empty (any variant)
    std::string str() const;   // "linux/arm64/v8", "linux/amd64"
    friend bool operator==(const platform&, const platform&) = default;
};

// "os/arch" or "os/arch/variant", case-insensitive; "" is linux/amd64. Common aliases are
// normalised as containerd does: x86_64 and x86-64 -> amd64, aarch64 -> arm64, i386 -> 386,
// armhf -> arm/v7, armel -> arm/v6, a bare variant digit "8" -> "v8". Fails with
// errc::invalid_argument quoting the text.
result<platform> parse_platform(std::string_view text);

// The child manifest digest for `want` in an OCI image index or Docker manifest list (the JSON
// body): the first entry of manifests[] whose os and architecture equal want's and, when want has a
// variant, whose variant equals it (an arm64 entry without a variant counts as v8). Attestation
// entries (platform unknown/unknown, or annotation vnd.docker.reference.type=attestation-manifest)
// and entries without a platform are skipped.
// Errors: errc::bad_response (not JSON, no manifests array, the chosen entry's digest malformed);
// errc::not_found "no manifest for linux/s390x (the index has linux/amd64, linux/arm64/v8)".
result<std::string> select_platform_manifest(std::string_view index_json, const platform& want);

}  // namespace imagewatch::registry
