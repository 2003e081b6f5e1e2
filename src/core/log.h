// Logging goes to stderr through spdlog; stdout is reserved for the program's output.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace hearth {

// Level names as users type them: trace, debug, info, warn, error, off.
void init_logging(std::string_view level = "warn");

}  // namespace hearth
