#include "config/config.hpp"

namespace imagewatch::config {

std::vector<runtime> config::select_runtimes(const std::optional<std::string>& name) const
{
    std::vector<runtime> out;
    for (const auto& r : runtimes)
        if (!name || r.name == *name)
            out.push_back(r);
    return out;
}

}  // namespace imagewatch::config
