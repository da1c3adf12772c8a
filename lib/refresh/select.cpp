#include "refresh/select.hpp"

#include <utility>

namespace imagewatch::refresh {
namespace {

constexpr std::string_view running_suffix = "-imagewatch-old";
constexpr std::string_view stopped_suffix = "-imagewatch-old-stopped";

}  // namespace

bool is_swarm_task(const std::map<std::string, std::string>& labels)
{
    constexpr std::string_view prefix = "com.docker.swarm.";
    auto it = labels.lower_bound(std::string(prefix));
    return it != labels.end() && it->first.starts_with(prefix);
}

bool name_and_labels_match(const config::selector& sel, std::string_view name,
                           const std::map<std::string, std::string>& labels)
{
    if (auto it = labels.find("imagewatch.enable"); it != labels.end() && it->second == "false")
        return false;
    if (is_swarm_task(labels))
        return false;
    if (!sel.name_prefix.empty() && !name.starts_with(sel.name_prefix))
        return false;
    if (is_old_name(name))
        return false;
    if (sel.label.empty())
        return true;
    auto eq = sel.label.find('=');
    if (eq == std::string::npos)
        return labels.contains(sel.label);
    auto it = labels.find(sel.label.substr(0, eq));
    return it != labels.end() && it->second == sel.label.substr(eq + 1);
}

bool selects(const config::runtime& rt, std::string_view name, std::string_view config_image,
             const std::map<std::string, std::string>& labels)
{
    if (!name_and_labels_match(rt.containers, name, labels))
        return false;
    auto ref = parse_image_ref(config_image);
    return ref && ref->str() == rt.image.str();
}

std::string old_name_for(std::string_view name, bool was_running)
{
    return std::string(name) + std::string(was_running ? running_suffix : stopped_suffix);
}

bool is_old_name(std::string_view name) { return parse_old_name(name).has_value(); }

std::optional<parked_name> parse_old_name(std::string_view parked)
{
    for (auto [suffix, running] : {std::pair{running_suffix, true}, std::pair{stopped_suffix, false}})
        if (parked.size() > suffix.size() && parked.ends_with(suffix))
            return parked_name{std::string(parked.substr(0, parked.size() - suffix.size())), running};
    return std::nullopt;
}

}  // namespace imagewatch::refresh
