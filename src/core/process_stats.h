// Process-level measurements reported by `--verbose`, the server's PERF line and `hearth bench`.
#pragma once

#include <cstdint>

namespace hearth {

// Peak resident set size (VmHWM) in bytes; 0 where /proc is unavailable.
uint64_t peak_rss_bytes();
// Current resident set size (VmRSS) in bytes; 0 where /proc is unavailable.
uint64_t current_rss_bytes();
// Seconds on a monotonic clock (for durations only).
double monotonic_seconds();

}  // namespace hearth
