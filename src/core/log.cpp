#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace hearth {

void init_logging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("hearth");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace hearth
