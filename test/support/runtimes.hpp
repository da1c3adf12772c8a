#pragma once
// Config runtimes built from an image string in one line, for tests that need a few.
#include "config/config.hpp"
#include "image/image_ref.hpp"

#include <string>
#include <utility>

namespace imagewatch::test {

// A runtime named `name` watching `image` (which must parse), with an optional container selector.
inline config::runtime rt(std::string name, const std::string& image, config::selector sel = {})
{
    return config::runtime{std::move(name), parse_image_ref(image).value(), std::move(sel)};
}

}  // namespace imagewatch::test
