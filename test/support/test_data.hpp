#pragma once
// The recorded inputs under test/data: one reader for every test and fuzzer.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace imagewatch::test {

inline const std::string data_dir = IMAGEWATCH_TEST_DATA;

// The whole file test/data/<relative> (for example "hooks/distribution_push.json"), byte for byte.
// A missing file throws, which fails the test case that asked for it.
inline std::string test_data(const std::string& relative)
{
    std::ifstream in(data_dir + "/" + relative, std::ios::binary);
    if (!in)
        throw std::runtime_error("test data not found: " + data_dir + "/" + relative);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace imagewatch::test
