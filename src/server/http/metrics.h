// Server metrics in the Prometheus text exposition format (GET /metrics): requests by route
// and status, tokens, queue depth and latency histograms.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "hearth/request.h"

namespace hearth::server {

class Metrics {
 public:
  // One finished HTTP exchange. `route` is a known route path or "other".
  void record_request(std::string_view route, int status, double seconds);
  // One finished generation.
  void record_generation(const Usage& usage, const Timings& timings);
  // A generation cancelled because its client disconnected.
  void record_client_cancel();

  // The exposition text; queue depth and running requests are sampled by the caller.
  std::string render(int queued, int running) const;

  // Latency bucket upper bounds in seconds.
  static constexpr std::array<double, 16> kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
    void observe(double value);
  };
  static void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                               const Histogram& h);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (route, status) -> count
  std::map<std::string, Histogram> request_seconds_;          // route -> latency
  Histogram ttft_seconds_;
  Histogram queue_seconds_;
  Histogram prefill_seconds_;
  uint64_t prompt_tokens_ = 0;
  uint64_t cached_tokens_ = 0;
  uint64_t generated_tokens_ = 0;
  uint64_t generations_ = 0;
  uint64_t client_cancels_ = 0;
};

}  // namespace hearth::server
