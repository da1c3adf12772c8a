#include "daemon/admin_listeners.hpp"

#include <algorithm>

namespace imagewatch::daemon {

void admin_listeners::prune()
{
    std::erase_if(retired_, [](const auto& s) { return s->finished(); });
}

void admin_listeners::replace(std::unique_ptr<admin::server> next)
{
    prune();
    if (current_)
    {
        current_->close();
        retired_.push_back(std::move(current_));
    }
    current_ = std::move(next);
}

void admin_listeners::close_all()
{
    const auto end = [](admin::server& s) {
        s.close();
        s.end_sessions();
    };
    for (auto& s : retired_)
        end(*s);
    if (current_)
        end(*current_);
}

bool admin_listeners::finished() const
{
    return (!current_ || current_->finished()) &&
           std::all_of(retired_.begin(), retired_.end(), [](const auto& s) { return s->finished(); });
}

std::size_t admin_listeners::retired()
{
    prune();
    return retired_.size();
}

}  // namespace imagewatch::daemon
