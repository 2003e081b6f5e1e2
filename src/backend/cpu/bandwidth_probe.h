// A read-only memory sweep: how many bytes per second this machine's cores can stream from
// DRAM, the ceiling of a decode step that reads every weight once (the roofline of
// `hearth bench --bandwidth`).
#pragma once

#include <cstddef>

#include "hearth/status.h"

namespace hearth::cpu {

struct BandwidthResult {
  double best_gb_per_s = 0;    // fastest sweep
  double median_gb_per_s = 0;  // median sweep
  size_t bytes = 0;            // buffer size swept
  int threads = 0;
};

// Sweeps a `bytes` buffer (far larger than the caches) `sweeps` times with `threads` threads
// using the widest loads this CPU has. ResourceExhausted when the buffer cannot be allocated.
Expected<BandwidthResult> measure_read_bandwidth(size_t bytes, int threads, int sweeps);

}  // namespace hearth::cpu
