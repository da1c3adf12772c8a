#pragma once
// pull_progress: reads the body of POST /images/create (a stream of concatenated JSON objects) as it
// arrives and remembers what matters: the first error, the last status line and how far each layer
// has come (pull_totals). Pure.
//
// Docker reports a failed pull as {"errorDetail":{"message":...},"error":...} inside a 200 response,
// so the HTTP status alone says nothing. Objects may be split across feeds, several may arrive in
// one feed, and whitespace or newlines may separate them.
#include "core/error.hpp"
#include "docker/pull_totals.hpp"

#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::docker {

class pull_progress
{
public:
    // Consumes the next bytes of the stream. Fails (errc::bad_response) when the bytes are not a
    // sequence of JSON objects or one object exceeds 1 MiB; the accumulator is then unusable.
    result<void> feed(std::string_view bytes);

    // Call at the end of the stream: fails (errc::bad_response) when it ended inside an object.
    result<void> finish();

    // The first error object's message (errorDetail.message, else error), if any.
    const std::optional<std::string>& error_message() const { return error_; }
    // The last "status" seen, e.g. "Status: Downloaded newer image for x:y" or "Status: Image is up to date for x:y".
    const std::string& last_status() const { return last_status_; }
    // The digest from the "Digest: sha256:..." status line, or empty.
    const std::string& digest() const { return digest_; }
    std::size_t objects() const { return objects_; }
    pull_totals totals() const;

private:
    void take(const boost::json::value& v);
    // Per-layer progress from the stream's objects: {"id":<layer>,"status":"Downloading",
    // "progressDetail":{"current":n,"total":m}}, then "Download complete", "Extracting", "Pull complete"
    // (or "Already exists" for a layer the daemon has). Objects that are not about a layer are ignored.
    void take_layer(const boost::json::object& o);

    struct layer
    {
        std::uint64_t current = 0;
        std::uint64_t total = 0;
        bool downloaded = false;
        bool done = false;
    };

    boost::json::stream_parser parser_;
    bool in_object_ = false;        // parser_ has consumed part of an object
    std::size_t object_bytes_ = 0;  // bytes of the current object so far
    std::optional<std::string> error_;
    std::string last_status_;
    std::string digest_;
    std::size_t objects_ = 0;
    std::map<std::string, layer, std::less<>> layers_;  // a handful per image
    bool broken_ = false;
};

// Classifies an error message from the progress stream (or from a failed /images/create) so callers
// can react: "manifest unknown"/"not found" -> not_found, "unauthorized"/"denied" -> unauthorized,
// "toomanyrequests" -> rate_limited, anything else -> failed.
errc classify_pull_error(std::string_view message);

}  // namespace imagewatch::docker
