#include "config/config.hpp"

#include <algorithm>

namespace imagewatch::config {

const runtime* config::find_runtime(std::string_view name) const
{
    auto it = std::find_if(runtimes.begin(), runtimes.end(), [&](const runtime& r) { return r.name == name; });
    return it == runtimes.end() ? nullptr : &*it;
}

std::vector<runtime> config::select_runtimes(const std::optional<std::string>& name) const
{
    std::vector<runtime> out;
    for (const auto& r : runtimes)
        if (!name || r.name == *name)
            out.push_back(r);
    return out;
}

}  // namespace imagewatch::config
