#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace imagewatch::metrics {
namespace {

constexpr double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string number(double v)
{
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        return std::to_string(static_cast<long long>(v));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

void escape_into(std::string& out, std::string_view v)
{
    if (std::none_of(v.begin(), v.end(), [](char c) { return c == '\\' || c == '"' || c == '\n'; }))
    {
        out.append(v);
        return;
    }
    for (char c : v)
    {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n')
        {
            out += "\\n";
            continue;
        }
        out += c;
    }
}

// Adds le="..." to an already rendered label set "{a="b"}" or "".
std::string with_le(const std::string& ls, const std::string& le)
{
    std::string inner = ls.empty() ? std::string() : ls.substr(1, ls.size() - 2) + ",";
    return "{" + inner + "le=\"" + le + "\"}";
}

// The entries of a hashed series map in label order, so /metrics reads the same every time.
template <class Map>
std::vector<const typename Map::value_type*> sorted(const Map& m)
{
    std::vector<const typename Map::value_type*> out;
    out.reserve(m.size());
    for (const auto& kv : m)
        out.push_back(&kv);
    std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
    return out;
}

// Renders into out (cleared first), so hot paths can reuse one buffer.
void render_labels_into(std::string& out, labels l)
{
    out.clear();
    if (l.size() == 0)
        return;
    for (const auto& [k, v] : l)
    {
        out += out.empty() ? '{' : ',';
        out += k;
        out += "=\"";
        escape_into(out, v);
        out += '"';
    }
    out += '}';
}

// The series for l, created at zero: looked up with a reused key buffer, allocating only for a new
// series (every check updates three or four series).
template <class Map>
typename Map::mapped_type& series_for(Map& m, labels l)
{
    static std::string key;  // one thread
    render_labels_into(key, l);
    auto it = m.find(key);
    if (it == m.end())
        it = m.emplace(key, typename Map::mapped_type{}).first;
    return it->second;
}

}  // namespace

void registry::describe(std::string name, std::string type, std::string help)
{
    for (auto& f : families_)
        if (f.name == name)
            return;
    families_.push_back(family{std::move(name), std::move(type), std::move(help), {}, {}});
}

registry::family& registry::get(std::string_view name)
{
    for (auto& f : families_)
        if (f.name == name)
            return f;
    families_.push_back(family{std::string(name), "untyped", "", {}, {}});
    return families_.back();
}

void registry::inc(std::string_view name, labels l, double by) { series_for(get(name).series, l) += by; }

void registry::set(std::string_view name, labels l, double value) { series_for(get(name).series, l) = value; }

void registry::observe(std::string_view name, labels l, double value)
{
    auto& h = series_for(get(name).histograms, l);
    if (h.counts.empty())
        h.counts.assign(std::size(buckets), 0);
    for (std::size_t i = 0; i < std::size(buckets); ++i)
        if (value <= buckets[i])
            h.counts[i] += 1;
    h.sum += value;
    h.count += 1;
}

void registry::forget(std::string_view name, std::string_view key, std::string_view value)
{
    std::string needle = std::string(key) + "=\"";
    escape_into(needle, value);
    needle += '"';
    auto& f = get(name);
    std::erase_if(f.series, [&](const auto& kv) { return kv.first.find(needle) != std::string::npos; });
    std::erase_if(f.histograms, [&](const auto& kv) { return kv.first.find(needle) != std::string::npos; });
}

double registry::value(std::string_view name, labels l) const
{
    for (const auto& f : families_)
        if (f.name == name)
        {
            std::string key;
            render_labels_into(key, l);
            auto it = f.series.find(key);
            return it == f.series.end() ? 0 : it->second;
        }
    return 0;
}

std::string registry::render() const
{
    std::string out;
    out.reserve(4096);
    for (const auto& f : families_)
    {
        out += "# HELP " + f.name + " " + f.help + "\n";
        out += "# TYPE " + f.name + " " + f.type + "\n";
        // Appended piece by piece: a scrape with a thousand runtimes renders thousands of lines.
        for (const auto* kv : sorted(f.series))
            out.append(f.name).append(kv->first).append(" ").append(number(kv->second)).append("\n");
        for (const auto* kv : sorted(f.histograms))
        {
            const auto& [ls, h] = *kv;
            for (std::size_t i = 0; i < std::size(buckets); ++i)
                out += f.name + "_bucket" + with_le(ls, number(buckets[i])) + " " + number(h.counts[i]) + "\n";
            out += f.name + "_bucket" + with_le(ls, "+Inf") + " " + number(h.count) + "\n";
            out += f.name + "_sum" + ls + " " + number(h.sum) + "\n";
            out += f.name + "_count" + ls + " " + number(h.count) + "\n";
        }
    }
    return out;
}

std::string_view bounded_label::operator()(std::string_view value)
{
    if (auto it = seen_.find(value); it != seen_.end())
        return *it;
    if (seen_.size() >= limit_)
        return "other";
    return *seen_.emplace(value).first;
}

registry& global()
{
    static registry r;
    return r;
}

}  // namespace imagewatch::metrics
