#include "image/image_ref.hpp"

#include "core/host_port.hpp"
#include "core/text.hpp"
#include "image/registry_host.hpp"

#include <algorithm>

namespace imagewatch {

namespace {

constexpr std::size_t max_name_length = 255;  // Docker's limit for registry/repository

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool valid_tag(std::string_view t)
{
    return !t.empty() && t.size() <= 128 && (is_alnum(t[0]) || t[0] == '_') &&
           std::all_of(t.begin(), t.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*  — the distribution/reference path grammar.
bool valid_path_component(std::string_view c)
{
    std::size_t i = 0;
    const std::size_t n = c.size();
    for (;;)
    {
        if (i >= n || !is_lower_alnum(c[i]))
            return false;
        while (i < n && is_lower_alnum(c[i]))
            ++i;
        if (i == n)
            return true;
        if (c[i] == '.')
            ++i;
        else if (c[i] == '_')
            i += (i + 1 < n && c[i + 1] == '_') ? 2u : 1u;
        else if (c[i] == '-')
            while (i < n && c[i] == '-')
                ++i;
        else
            return false;
    }
}

// Host part of a registry: dotted labels of [A-Za-z0-9-] (not starting/ending with '-') or a
// bracketed IPv6 literal, then an optional ":port" in 1..65535. Returns the reason or empty.
std::string check_registry(std::string_view r)
{
    const auto bad = [&](std::string_view why) { return "registry \"" + std::string(r) + "\" " + std::string(why); };
    auto hp = split_host_port(r);
    if (!hp)
        return bad(r.find(']') == std::string_view::npos ? "has a malformed IPv6 address"
                                                         : "has junk after the IPv6 address");
    const std::string_view host = hp->host;
    const std::string_view port = hp->port;
    if (hp->has_port && port.empty())
        return bad("has an empty port");
    if (hp->bracketed)
    {
        const auto v6 = [](char c) { return is_hex_lower(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.'; };
        if (host.empty() || !std::all_of(host.begin(), host.end(), v6))
            return bad("has a malformed IPv6 address");
    }
    else
    {
        for (auto label : split(host, '.'))
            if (label.empty() || label.front() == '-' || label.back() == '-' ||
                !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
                return bad("is not a valid host name");
    }
    if (!port.empty() && !parse_port(port))
        return bad("has an invalid port \"" + std::string(port) + "\"");
    return {};
}

}  // namespace

result<image_ref> parse_image_ref(std::string_view s)
{
    const auto bad = [&](std::string why) {
        return make_error(errc::invalid_argument, "invalid image reference \"" + std::string(s) + "\": " + why);
    };
    if (s.empty())
        return bad("empty");
    for (char c : s)
    {
        if (is_space(c))
            return bad("contains whitespace");
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return bad("contains a control character");
    }

    image_ref ref;
    std::string_view rest = s;

    // Digest first: "name[:tag]@sha256:<hex>".
    if (auto at = rest.find('@'); at != std::string_view::npos)
    {
        auto d = rest.substr(at + 1);
        rest = rest.substr(0, at);
        constexpr std::string_view algo = "sha256:";
        bool ok = d.size() == algo.size() + 64 && d.starts_with(algo);
        for (std::size_t i = algo.size(); ok && i < d.size(); ++i)
            ok = is_hex_lower(d[i]);
        if (!ok)
            return bad("digest must be \"sha256:\" followed by 64 lower-case hex digits");
        ref.digest = std::string(d);
    }

    // A tag is a ':' after the last '/', so "host:5000/app" keeps its port.
    auto last_slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash))
    {
        auto t = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
        if (t.empty())
            return bad("empty tag after ':'");
        if (!valid_tag(t))
            return bad("invalid tag \"" + std::string(t) +
                       "\" (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')");
        ref.tag = std::string(t);
    }
    if (rest.empty())
        return bad("missing repository name");

    // Like the Docker CLI: the first component is a registry only if it looks like a host.
    std::string_view repo = rest;
    ref.registry = std::string(docker_hub);
    if (auto slash = rest.find('/'); slash != std::string_view::npos)
    {
        auto first = rest.substr(0, slash);
        if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || first.starts_with('['))
        {
            if (auto why = check_registry(first); !why.empty())
                return bad(why);
            ref.registry = first == docker_hub_index ? std::string(docker_hub) : std::string(first);
            repo = rest.substr(slash + 1);
        }
    }
    if (repo.empty())
        return bad("missing repository name");

    for (auto comp : split(repo, '/'))
    {
        if (comp.empty())
            return bad("empty path component");
        if (!valid_path_component(comp))
        {
            for (char c : comp)
                if (c >= 'A' && c <= 'Z')
                    return bad("repository name must be lower-case");
            return bad("invalid path component \"" + std::string(comp) +
                       "\" (lower-case letters and digits, separated by '.', '_', '__' or '-')");
        }
    }
    if (ref.registry == docker_hub && repo.find('/') == std::string_view::npos)
    {
        // A bare 64-hex name is an image ID, which the Docker CLI refuses as a reference too.
        if (repo.size() == 64 && std::all_of(repo.begin(), repo.end(), is_hex_lower))
            return bad("a 64-hex image ID is not a reference");
        ref.repository = "library/" + std::string(repo);
    }
    else
        ref.repository = std::string(repo);

    if (ref.registry.size() + 1 + ref.repository.size() > max_name_length)
        return bad("name longer than 255 characters");
    if (ref.tag.empty() && ref.digest.empty())
        ref.tag = "latest";
    return ref;
}

std::string image_ref::str() const
{
    std::string out = name();
    if (!tag.empty())
        out += ":" + tag;
    if (!digest.empty())
        out += "@" + digest;
    return out;
}

std::string image_ref::name() const { return registry + "/" + repository; }

std::string image_ref::endpoint_host() const
{
    return registry == docker_hub ? std::string(docker_hub_endpoint) : registry;
}

}  // namespace imagewatch
