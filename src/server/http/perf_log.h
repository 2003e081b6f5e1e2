// The one log line per generation: `PERF prompt_tok=.. cached_tok=.. prefill_s=.. ...`.
#pragma once

#include <string>

#include "hearth/request.h"

namespace hearth::server {

std::string format_perf_line(const Usage& usage, const Timings& timings);
// Logs format_perf_line() at info level (stderr).
void log_perf(const Usage& usage, const Timings& timings);

}  // namespace hearth::server
