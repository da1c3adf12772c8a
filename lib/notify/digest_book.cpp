#include "notify/digest_book.hpp"

#include <algorithm>

namespace imagewatch::notify {

void digest_book::note(const std::string& runtime, const std::optional<std::string>& current)
{
    if (current)
        digests_[runtime] = *current;
}

std::optional<std::string> digest_book::exchange(const std::string& runtime, const std::optional<std::string>& current)
{
    std::optional<std::string> before;
    if (auto it = digests_.find(runtime); it != digests_.end())
        before = it->second;
    note(runtime, current);
    return before;
}

void digest_book::keep_only(const std::vector<std::string>& runtimes)
{
    std::erase_if(digests_, [&](const auto& kv) {
        return std::find(runtimes.begin(), runtimes.end(), kv.first) == runtimes.end();
    });
}

}  // namespace imagewatch::notify
