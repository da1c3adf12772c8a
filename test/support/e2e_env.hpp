#pragma once
// Access to the real test environment (test/e2e/env.sh up) from C++ e2e tests.
// Without the environment: exit 77 (ctest SKIP) with a one-line reason, unless IMAGEWATCH_E2E=1,
// in which case a missing environment is a failure: the full test run must not pass by skipping.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

namespace imagewatch::test {

// Reads $IMAGEWATCH_E2E_DIR/env (default /tmp/imagewatch-e2e/env): lines KEY=VALUE written by env.sh up.
inline std::map<std::string, std::string> e2e_env()
{
    const char* dir = std::getenv("IMAGEWATCH_E2E_DIR");
    std::string path = std::string(dir && *dir ? dir : "/tmp/imagewatch-e2e") + "/env";
    std::ifstream in(path);
    std::map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line))
    {
        if (line.rfind("export ", 0) == 0)
            line = line.substr(7);
        auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        std::string v = line.substr(eq + 1);
        if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"'))
            v = v.substr(1, v.size() - 2);
        out[line.substr(0, eq)] = v;
    }
    if (out.empty())
    {
        const char* req = std::getenv("IMAGEWATCH_E2E");
        bool required = req && std::string(req) == "1";
        std::fprintf(stderr, "%s: test environment not found at %s (run test/e2e/env.sh up)\n",
                     required ? "FAIL" : "SKIP", path.c_str());
        std::exit(required ? 1 : 77);
    }
    return out;
}

}  // namespace imagewatch::test
