#pragma once
// Which containers belong to which runtime (docs/configuration.md, container selection). Pure.
#include "config/config.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch::refresh {

// Cheap pre-filter on what the container list gives: name prefix, selector label, the opt-out
// label imagewatch.enable=false, and never a Swarm task (is_swarm_task). The image is checked
// after inspect (list may show an ID).
bool name_and_labels_match(const config::selector& sel, std::string_view name,
                           const std::map<std::string, std::string>& labels);

// A container Swarm runs for a service (it carries com.docker.swarm.* labels). Swarm owns it:
// replacing it directly would be undone by Swarm, so only its service is ever updated.
bool is_swarm_task(const std::map<std::string, std::string>& labels);

// Full rule: the container's Config.Image normalises to exactly the runtime's image reference
// (not a substring), plus name_and_labels_match.
bool selects(const config::runtime& rt, std::string_view name, std::string_view config_image,
             const std::map<std::string, std::string>& labels);

// Name of the renamed-away ("parked") original during a swap, and the test for it. The name
// records whether the original was running when its swap began: the rename is the swap's first
// change, so it is the one record that exists wherever a crash interrupts the swap, and it is
// what tells recovery to start the original again or leave it stopped.
//   running (or paused, restarting): <name>-imagewatch-old
//   stopped:                         <name>-imagewatch-old-stopped
std::string old_name_for(std::string_view name, bool was_running);
bool is_old_name(std::string_view name);

struct parked_name
{
    std::string name;  // the original name
    bool was_running;
};
std::optional<parked_name> parse_old_name(std::string_view parked);

}  // namespace imagewatch::refresh
