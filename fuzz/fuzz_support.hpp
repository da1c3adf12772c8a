#pragma once
// Shared helpers for the libFuzzer targets: invariant checks and splitting one input into fields.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

// An invariant the code under test must keep: a violation aborts, which libFuzzer reports as a crash.
#define FUZZ_CHECK(cond)                                                                                               \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(cond))                                                                                                   \
        {                                                                                                              \
            std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);                        \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (0)

namespace imagewatch::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

// Splits s at `sep` into at most n fields (the last one keeps any further separators); missing
// fields are empty.
inline std::vector<std::string_view> split(std::string_view s, char sep, std::size_t n)
{
    std::vector<std::string_view> out;
    while (out.size() + 1 < n)
    {
        auto p = s.find(sep);
        if (p == std::string_view::npos)
            break;
        out.push_back(s.substr(0, p));
        s.remove_prefix(p + 1);
    }
    out.push_back(s);
    out.resize(n);
    return out;
}

}  // namespace imagewatch::fuzz
