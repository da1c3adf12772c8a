#pragma once
// Captures every log line (debug and up, text format) for the life of a test, then restores the
// level and the default sink.
#include "core/log.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::test {

struct log_capture
{
    std::vector<std::string> lines;
    std::string text;  // the lines, each ended by '\n'
    log::level saved = log::min_level();
    log_capture()
    {
        log::configure(log::level::debug, log::format::text);
        log::set_sink([this](std::string_view l) {
            lines.emplace_back(l);
            text.append(l).append("\n");
        });
    }
    ~log_capture()
    {
        log::set_sink({});
        log::configure(saved, log::format::text);
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
};

}  // namespace imagewatch::test
