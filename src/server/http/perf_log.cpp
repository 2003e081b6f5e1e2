#include "server/http/perf_log.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

namespace hearth::server {

std::string format_perf_line(const Usage& usage, const Timings& timings) {
  const int64_t prefilled = usage.prompt_tokens - usage.cached_tokens;
  const double prompt_tps = timings.prefill_s > 0 ? double(prefilled) / timings.prefill_s : 0.0;
  // decode_s covers the tokens after the first one.
  const int64_t decoded = usage.completion_tokens > 1 ? usage.completion_tokens - 1 : 0;
  const double gen_tps = timings.decode_s > 0 ? double(decoded) / timings.decode_s : 0.0;
  return fmt::format(
      "PERF prompt_tok={} cached_tok={} prefill_s={:.3f} prompt_tps={:.1f} gen_tok={} "
      "gen_tps={:.1f} ttft_ms={:.1f} peak_mem_mb={:.1f}",
      usage.prompt_tokens, usage.cached_tokens, timings.prefill_s, prompt_tps,
      usage.completion_tokens, gen_tps, timings.ttft_s * 1000.0,
      double(timings.peak_rss_bytes) / (1024.0 * 1024.0));
}

void log_perf(const Usage& usage, const Timings& timings) {
  spdlog::info("{}", format_perf_line(usage, timings));
}

}  // namespace hearth::server
