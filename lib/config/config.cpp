#include "config/config.hpp"

#include <algorithm>

namespace imagewatch::config {

const runtime* config::find_runtime(std::string_view name) const
{
    auto it = std::find_if(runtimes.begin(), runtimes.end(), [&](const runtime& r) { return r.name == name; });
    return it == runtimes.end() ? nullptr : &*it;
}

}  // namespace imagewatch::config
