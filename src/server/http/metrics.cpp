#include "server/http/metrics.h"

#include <fmt/core.h>

namespace hearth::server {

void Metrics::Histogram::observe(double value) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (value <= kBuckets[i]) {
      ++counts[i];
      break;
    }
  }
  ++count;
  sum += value;
}

void Metrics::record_request(std::string_view route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{std::string(route), status}];
  request_seconds_[std::string(route)].observe(seconds);
}

void Metrics::record_generation(const Usage& usage, const Timings& timings) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generations_;
  prompt_tokens_ += static_cast<uint64_t>(usage.prompt_tokens);
  cached_tokens_ += static_cast<uint64_t>(usage.cached_tokens);
  generated_tokens_ += static_cast<uint64_t>(usage.completion_tokens);
  if (usage.completion_tokens > 0) ttft_seconds_.observe(timings.ttft_s);
  queue_seconds_.observe(timings.queue_s);
  prefill_seconds_.observe(timings.prefill_s);
}

void Metrics::record_client_cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++client_cancels_;
}

void Metrics::render_histogram(std::string& out, std::string_view name, std::string_view labels,
                               const Histogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += h.counts[i];
    out +=
        fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBuckets[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, h.count);
  const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n", name, braces, h.sum);
  out += fmt::format("{}_count{} {}\n", name, braces, h.count);
}

std::string Metrics::render(int queued, int running) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  auto header = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  header("hearth_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, count] : requests_) {
    out += fmt::format("hearth_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  header("hearth_http_request_duration_seconds", "histogram",
         "Time from receiving a request to the end of its response, by route.");
  for (const auto& [route, h] : request_seconds_) {
    render_histogram(out, "hearth_http_request_duration_seconds",
                     fmt::format("route=\"{}\"", route), h);
  }
  header("hearth_requests_queued", "gauge", "Generation requests waiting for the engine.");
  out += fmt::format("hearth_requests_queued {}\n", queued);
  header("hearth_requests_running", "gauge", "Generation requests the engine is working on.");
  out += fmt::format("hearth_requests_running {}\n", running);
  header("hearth_generations_total", "counter", "Generations finished.");
  out += fmt::format("hearth_generations_total {}\n", generations_);
  header("hearth_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
  out += fmt::format("hearth_prompt_tokens_total {}\n", prompt_tokens_);
  header("hearth_prompt_cached_tokens_total", "counter",
         "Prompt tokens whose KV cache entries were reused.");
  out += fmt::format("hearth_prompt_cached_tokens_total {}\n", cached_tokens_);
  header("hearth_generation_tokens_total", "counter", "Tokens generated.");
  out += fmt::format("hearth_generation_tokens_total {}\n", generated_tokens_);
  header("hearth_client_cancels_total", "counter",
         "Generations cancelled because the client disconnected.");
  out += fmt::format("hearth_client_cancels_total {}\n", client_cancels_);
  header("hearth_time_to_first_token_seconds", "histogram",
         "From submission to the first generated token.");
  render_histogram(out, "hearth_time_to_first_token_seconds", "", ttft_seconds_);
  header("hearth_queue_wait_seconds", "histogram", "Time requests waited for the engine.");
  render_histogram(out, "hearth_queue_wait_seconds", "", queue_seconds_);
  header("hearth_prefill_seconds", "histogram", "Prompt processing time.");
  render_histogram(out, "hearth_prefill_seconds", "", prefill_seconds_);
  return out;
}

}  // namespace hearth::server
