#include "docker/pull_progress.hpp"

#include "core/text.hpp"

#include <boost/json/value.hpp>

#include <algorithm>

namespace imagewatch::docker {

namespace json = boost::json;

namespace {

// Progress objects are a few hundred bytes; anything near this is not a progress stream.
constexpr std::size_t max_object_bytes = 1024 * 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view string_field(const json::object& o, std::string_view key)
{
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string())
        return {};
    return it->value().get_string();
}

bool contains_nocase(std::string_view hay, std::string_view needle)
{
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
        return ascii_lower(a) == ascii_lower(b);
    });
    return it != hay.end();
}

}  // namespace

result<void> pull_progress::feed(std::string_view bytes)
{
    if (broken_)
        return make_error(errc::bad_response, "pull progress: stream already malformed");
    while (!bytes.empty())
    {
        if (!in_object_)
        {
            // Between objects: skip separators ourselves so a trailing newline never leaves the
            // parser holding a half-started value at the end of the stream.
            std::size_t skip = 0;
            while (skip < bytes.size() && is_space(bytes[skip]))
                ++skip;
            bytes.remove_prefix(skip);
            if (bytes.empty())
                break;
            if (bytes.front() != '{')
            {
                broken_ = true;
                return make_error(
                    errc::bad_response,
                    "pull progress: expected a JSON object, got '" + utf8_excerpt(bytes, 40) + "'"
                );
            }
            in_object_ = true;
            object_bytes_ = 0;
        }
        json::error_code ec;
        std::size_t n = parser_.write_some(bytes.data(), bytes.size(), ec);
        if (ec)
        {
            broken_ = true;
            return make_error(errc::bad_response, "pull progress: malformed JSON: " + ec.message());
        }
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
        {
            broken_ = true;
            return make_error(errc::bad_response, "pull progress: one object is larger than 1 MiB");
        }
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
    if (!error_)
    {
        std::string_view message;
        if (auto it = o->find("errorDetail"); it != o->end() && it->value().is_object())
            message = string_field(it->value().get_object(), "message");
        if (message.empty())
            message = string_field(*o, "error");
        if (!message.empty() || o->contains("error") || o->contains("errorDetail"))
            error_ = message.empty() ? std::string("pull failed (Docker gave no message)") : std::string(message);
    }
    std::string_view status = string_field(*o, "status");
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
    if (contains_nocase(message, "toomanyrequests") || contains_nocase(message, "rate limit"))
        return errc::rate_limited;
    if (contains_nocase(message, "unauthorized") || contains_nocase(message, "denied") ||
        contains_nocase(message, "authentication required"))
        return errc::unauthorized;
    if (contains_nocase(message, "manifest unknown") || contains_nocase(message, "not found") ||
        contains_nocase(message, "no such"))
        return errc::not_found;
    return errc::failed;
}

}  // namespace imagewatch::docker
