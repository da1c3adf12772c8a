#include "docker/pull_progress.hpp"

#include "core/json_fields.hpp"
#include "core/text.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <iterator>
#include <limits>

namespace imagewatch::docker {

namespace json = boost::json;

namespace {

// Progress objects are a few hundred bytes; anything near this is not a progress stream.
constexpr std::size_t max_object_bytes = 1024 * 1024;

// o[key] as an unsigned number; 0 when o is null, or the field is absent, negative or not an integer.
std::uint64_t uint_field(const json::object* o, std::string_view key)
{
    const auto* v = o ? o->if_contains(key) : nullptr;
    if (v && v->is_uint64())
        return v->get_uint64();
    if (v && v->is_int64() && v->get_int64() > 0)
        return static_cast<std::uint64_t>(v->get_int64());
    return 0;
}

}  // namespace

void pull_progress::take_layer(const json::object& o)
{
    const std::string_view id = string_view_field(o, "id");
    const std::string_view status = string_view_field(o, "status");
    // "Pulling from <repo>" carries the tag as its id; the other id-less lines are about the image.
    static constexpr std::string_view layer_statuses[] = {
        "Pulling fs layer",  "Waiting",    "Downloading",   "Verifying Checksum",
        "Download complete", "Extracting", "Pull complete", "Already exists",
    };
    if (id.empty() ||
        std::find(std::begin(layer_statuses), std::end(layer_statuses), status) == std::end(layer_statuses))
        return;
    layer& l = layers_.try_emplace(std::string(id)).first->second;
    const auto* detail = object_field(o, "progressDetail");
    const std::uint64_t current = uint_field(detail, "current");
    const std::uint64_t total = uint_field(detail, "total");
    if (status == "Downloading")
    {
        l.current = std::max(l.current, current);
        if (total > 0)
            l.total = total;
    }
    else if (status == "Verifying Checksum" || status == "Download complete")
        l.downloaded = true;
    else if (status == "Extracting")
    {
        // Extraction reads the downloaded blob: its total is the layer's size when no
        // "Downloading" line said so (small layers).
        l.downloaded = true;
        if (l.total == 0)
            l.total = total;
    }
    else if (status == "Pull complete")
        l.downloaded = l.done = true;
    else if (status == "Already exists")
        l.done = true;
}

pull_totals pull_progress::totals() const
{
    // Saturating: sizes come from the daemon's text, and a sum that wraps would make less of more.
    const auto add = [](std::uint64_t a, std::uint64_t b) {
        return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
    };
    pull_totals t;
    for (const auto& [id, l] : layers_)
    {
        ++t.layers;
        t.layers_done += l.done ? 1 : 0;
        t.bytes_total = add(t.bytes_total, l.total);
        t.bytes_done = add(t.bytes_done, l.downloaded ? l.total : std::min(l.current, l.total));
    }
    return t;
}

result<void> pull_progress::feed(std::string_view bytes)
{
    if (broken_)
        return make_error(errc::bad_response, "pull progress: stream already malformed");
    const auto broken = [this](const std::string& why) {
        broken_ = true;
        return make_error(errc::bad_response, "pull progress: " + why);
    };
    while (!bytes.empty())
    {
        if (!in_object_)
        {
            // Between objects: skip separators ourselves so a trailing newline never leaves the
            // parser holding a half-started value at the end of the stream.
            bytes = trim_start(bytes, " \t\r\n");
            if (bytes.empty())
                break;
            if (bytes.front() != '{')
                return broken("expected a JSON object, got '" + utf8_excerpt(bytes, 40) + "'");
            in_object_ = true;
            object_bytes_ = 0;
        }
        json::error_code ec;
        std::size_t n = parser_.write_some(bytes.data(), bytes.size(), ec);
        if (ec)
            return broken("malformed JSON: " + ec.message());
        object_bytes_ += n;
        bytes.remove_prefix(n);
        if (parser_.done())
        {
            json::value v = parser_.release();
            parser_.reset();
            in_object_ = false;
            take(v);
        }
        else if (object_bytes_ > max_object_bytes)
            return broken("one object is larger than 1 MiB");
    }
    return {};
}

result<void> pull_progress::finish()
{
    if (broken_)
        return make_error(errc::bad_response, "pull progress: stream malformed");
    if (in_object_)
        return make_error(errc::bad_response, "pull progress: stream ended inside a JSON object");
    return {};
}

void pull_progress::take(const json::value& v)
{
    ++objects_;
    const json::object* o = v.if_object();
    if (!o)
        return;  // only objects start with '{', so this does not happen
    take_layer(*o);
    if (!error_)
    {
        std::string_view message;
        if (const auto* detail = object_field(*o, "errorDetail"))
            message = string_view_field(*detail, "message");
        if (message.empty())
            message = string_view_field(*o, "error");
        if (!message.empty() || o->contains("error") || o->contains("errorDetail"))
            error_ = message.empty() ? std::string("pull failed (Docker gave no message)") : std::string(message);
    }
    std::string_view status = string_view_field(*o, "status");
    if (!status.empty())
    {
        last_status_ = status;
        constexpr std::string_view digest_prefix = "Digest: ";
        if (status.starts_with(digest_prefix))
            digest_ = status.substr(digest_prefix.size());
    }
}

errc classify_pull_error(std::string_view message)
{
    const std::string lower = ascii_lower(message);
    const auto has = [&lower](std::string_view s) { return lower.find(s) != std::string::npos; };
    if (has("toomanyrequests") || has("rate limit"))
        return errc::rate_limited;
    if (has("unauthorized") || has("denied") || has("authentication required"))
        return errc::unauthorized;
    if (has("manifest unknown") || has("not found") || has("no such"))
        return errc::not_found;
    return errc::failed;
}

}  // namespace imagewatch::docker
