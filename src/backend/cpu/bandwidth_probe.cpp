#include "backend/cpu/bandwidth_probe.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/kernels/kernel_table.h"
#include "core/aligned_buffer.h"
#include "core/process_stats.h"
#include "core/thread_pool.h"

namespace hearth::cpu {

Expected<BandwidthResult> measure_read_bandwidth(size_t bytes, int threads, int sweeps) {
  if (bytes < (size_t{1} << 20) || threads < 1 || sweeps < 1) {
    return invalid_argument("bandwidth probe needs at least 1 MiB, 1 thread and 1 sweep");
  }
  // allocate() writes every byte, so the pages are resident before the first timed sweep
  HEARTH_ASSIGN_OR_RETURN(AlignedBuffer buf, AlignedBuffer::allocate(bytes));
  const KernelTable& kernels = kernel_table(detect_best_isa());
  ThreadPool pool(threads);
  const auto floats = static_cast<int64_t>(bytes / sizeof(float));
  std::vector<float> sinks(static_cast<size_t>(threads));
  std::vector<double> rates;
  for (int s = 0; s < sweeps; ++s) {
    const double t0 = monotonic_seconds();
    pool.run([&](int thread, int n) {
      const int64_t begin = floats * thread / n;
      const int64_t end = floats * (thread + 1) / n;
      // sum of squares: one load and one FMA per 8 floats, bound by the loads
      sinks[static_cast<size_t>(thread)] +=
          kernels.sum_squares(buf.as<float>() + begin, end - begin);
    });
    const double dt = monotonic_seconds() - t0;
    if (dt > 0) rates.push_back(static_cast<double>(bytes) / dt / 1e9);
  }
  if (rates.empty()) return internal_error("bandwidth probe: the clock did not advance");
  std::sort(rates.begin(), rates.end());
  BandwidthResult r;
  r.best_gb_per_s = rates.back();
  r.median_gb_per_s = rates[rates.size() / 2];
  r.bytes = bytes;
  r.threads = threads;
  // keep the sums observable so the sweeps cannot be optimised away
  if (sinks[0] < 0) r.best_gb_per_s = 0;
  return r;
}

}  // namespace hearth::cpu
