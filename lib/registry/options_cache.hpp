#pragma once
// Per-host registry settings, remembered for a short while. A sweep of a thousand checks asks for
// the same host a thousand times, and each answer reads the docker config and the environment.
// Pure bookkeeping: the caller passes the clock and how to look an entry up.
#include "registry/client.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace imagewatch::registry {

class options_cache
{
public:
    using clock = std::chrono::steady_clock;
    using lookup = std::function<host_options(std::string_view host)>;

    explicit options_cache(clock::duration max_age = std::chrono::seconds(1)) : max_age_(max_age) {}

    // The entry for host when younger than max_age, else lookup(host), remembered from now.
    host_options get(std::string_view host, clock::time_point now, const lookup& look);
    // After a reload every host is looked up afresh.
    void clear() { entries_.clear(); }
    std::size_t size() const { return entries_.size(); }

private:
    struct entry
    {
        host_options options;
        clock::time_point at;
    };
    clock::duration max_age_;
    std::map<std::string, entry, std::less<>> entries_;  // by registry or token realm host
    clock::time_point swept_{};
};

}  // namespace imagewatch::registry
