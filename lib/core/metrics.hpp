#pragma once
// A small Prometheus metrics registry (counters, gauges, one histogram shape) rendered in the text
// exposition format (docs/metrics.md). Process-wide and single-threaded. Pure apart from the global.
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace imagewatch::metrics {

using labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class registry
{
public:
    // Declares a family; TYPE is "counter", "gauge" or "histogram". Families render in declaration order.
    void describe(std::string name, std::string type, std::string help);
    void inc(std::string_view name, labels l = {}, double by = 1);
    void set(std::string_view name, labels l, double value);
    // Histogram with the default buckets (seconds: 5ms .. 60s).
    void observe(std::string_view name, labels l, double value);
    // Removes every series of a family whose labels include key=value (e.g. a runtime that was removed).
    void forget(std::string_view name, std::string_view key, std::string_view value);
    double value(std::string_view name, labels l = {}) const;  // for tests and status
    std::string render() const;

private:
    struct histogram
    {
        std::vector<double> counts;  // cumulative per bucket
        double sum = 0;
        double count = 0;
    };
    struct family
    {
        std::string name, type, help;
        // rendered label set -> value; hashed (every check updates a few), sorted when rendered
        std::unordered_map<std::string, double> series;
        std::unordered_map<std::string, histogram> histograms;
    };
    family& get(std::string_view name);
    std::vector<family> families_;
};

registry& global();

// Values of a label that a remote party chooses (the host of a token realm a registry names): the
// first `limit` distinct values pass as they are and every later one reads "other", so a hostile
// server cannot add series (and memory) without bound.
class bounded_label
{
public:
    explicit bounded_label(std::size_t limit) : limit_(limit) {}
    std::string_view operator()(std::string_view value);
    std::size_t size() const { return seen_.size(); }

private:
    std::size_t limit_;
    std::set<std::string, std::less<>> seen_;
};

}  // namespace imagewatch::metrics
