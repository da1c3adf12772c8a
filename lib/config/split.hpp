#pragma once
// Cutting config text at a separator, for the small grammars inside values (windows, platforms,
// host names). Pure.
#include <string_view>
#include <vector>

namespace imagewatch::config {

// s cut at every `sep`, empty parts kept: "a..b" -> "a", "", "b"; "" -> one empty part.
inline std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> parts;
    for (auto at = s.find(sep); at != std::string_view::npos; at = s.find(sep))
    {
        parts.push_back(s.substr(0, at));
        s.remove_prefix(at + 1);
    }
    parts.push_back(s);
    return parts;
}

}  // namespace imagewatch::config
