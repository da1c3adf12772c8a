#include "core/version.hpp"

namespace imagewatch {

std::string_view version() { return IMAGEWATCH_VERSION; }

std::string_view user_agent() { return "imagewatch/" IMAGEWATCH_VERSION; }

}  // namespace imagewatch
