#pragma once
// The release version, compiled into one object only (core/version.cpp), so bumping it rebuilds
// one file instead of every module. Pure.
#include <string_view>

namespace imagewatch {

// "0.5.0", from the project version in CMakeLists.txt.
std::string_view version();

// "imagewatch/0.5.0": the User-Agent of every request imagewatch sends.
std::string_view user_agent();

}  // namespace imagewatch
