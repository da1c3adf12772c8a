#pragma once
// Which digest each runtime's last notification (or webhook-triggered check) was about, so the
// next notification can say old_digest -> new_digest. Pure bookkeeping.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::notify {

class digest_book
{
public:
    // Remembers `current` as the runtime's digest; nothing when it is unknown (before a check).
    void note(const std::string& runtime, const std::optional<std::string>& current);
    // The digest noted before, then notes `current`: the (old, new) pair of one notification.
    std::optional<std::string> exchange(const std::string& runtime, const std::optional<std::string>& current);
    // Runtimes no longer configured are dropped (a reload that removes them).
    void keep_only(const std::vector<std::string>& runtimes);
    std::size_t size() const { return digests_.size(); }

private:
    std::map<std::string, std::string> digests_;
};

}  // namespace imagewatch::notify
