#pragma once
// Whether a condition that keeps recurring (a retry loop's error) deserves another log line: the
// first time, whenever its text changes, and again every `every` while it lasts. A retry every few
// seconds then costs one line, not one per attempt, and a changed cause is never hidden. Pure.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch {

class repeat_filter
{
public:
    using clock = std::chrono::steady_clock;

    explicit repeat_filter(clock::duration every) : every_(every) {}

    bool should_log(std::string_view text, clock::time_point now)
    {
        if (last_at_ && text == last_ && now - *last_at_ < every_)
            return false;
        last_ = text;
        last_at_ = now;
        return true;
    }

    // The condition ended: its next occurrence is logged at once.
    void reset() { last_at_.reset(); }

private:
    clock::duration every_;
    std::string last_;
    std::optional<clock::time_point> last_at_;
};

}  // namespace imagewatch
