#pragma once
// pull_totals: how far a pull has come, summed over its layers. A value; pull_progress fills it.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace imagewatch::docker {

struct pull_totals
{
    std::size_t layers = 0;         // layers the stream has named so far
    std::size_t layers_done = 0;    // "Pull complete" or "Already exists"
    std::uint64_t bytes_done = 0;   // downloaded; a finished download counts as its whole size
    std::uint64_t bytes_total = 0;  // sizes known so far (a layer's size arrives with its first "Downloading")

    bool operator==(const pull_totals&) const = default;
};

// Called while a pull runs, at a steady pace (never per stream object), with the totals so far.
using pull_observer = std::function<void(const pull_totals&)>;

}  // namespace imagewatch::docker
