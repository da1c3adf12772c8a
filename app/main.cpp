// imagewatch entry point: everything lives in lib/; this only hands over argv.
#include "daemon/app.hpp"

int main(int argc, char** argv)
{
    return imagewatch::daemon::run_main(std::vector<std::string>(argv + 1, argv + argc));
}
