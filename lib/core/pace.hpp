#pragma once
// pace: when to report on long work. Nothing for the first period (short work stays quiet), then
// at most once per period, however often it is asked. Pure: the caller passes the clock's time.
#include <chrono>

namespace imagewatch {

class pace
{
public:
    using clock = std::chrono::steady_clock;

    pace(clock::time_point start, clock::duration every) : every_(every), next_(start + every) {}

    // True when a period has passed since the last report (or the start). A late call reports
    // once and restarts the period from `now`, so a stall never causes a burst of reports.
    bool due(clock::time_point now)
    {
        if (now < next_)
            return false;
        next_ = now + every_;
        return true;
    }

private:
    clock::duration every_;
    clock::time_point next_;
};

}  // namespace imagewatch
