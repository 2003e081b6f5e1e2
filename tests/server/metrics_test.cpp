// GET /metrics: the Prometheus text format, with counts that match the traffic.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "server/http/metrics.h"
#include "server/http/perf_log.h"
#include "server_test_util.h"

namespace hearth::test {
namespace {

// Sample lines "name{labels} value" -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(MetricsTest, CountsRequestsTokensAndLatencies) {
  ServerHarness harness;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(harness.post_json("/v1/chat/completions", chat_body()));
  ASSERT_TRUE(harness.post_json("/v1/chat/completions", {{"messages", "bad"}}));
  ASSERT_TRUE(harness.get("/nope"));
  // A request is counted by the HTTP logger, which runs just after its response is written: under
  // load the client can ask for /metrics before the last count lands, so wait for it briefly.
  const std::string last_key = R"(hearth_http_requests_total{route="other",status="404"})";
  auto res = harness.get("/metrics");
  for (int attempt = 0; attempt < 100 && res && samples(res->body).count(last_key) == 0;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    res = harness.get("/metrics");
  }
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto m = samples(res->body);
  ASSERT_EQ(m.count(last_key), 1u) << res->body;
  EXPECT_EQ(m.at(R"(hearth_http_requests_total{route="/v1/chat/completions",status="200"})"), 3);
  EXPECT_EQ(m.at(R"(hearth_http_requests_total{route="/v1/chat/completions",status="400"})"), 1);
  EXPECT_EQ(m.at(R"(hearth_http_requests_total{route="other",status="404"})"), 1);
  EXPECT_EQ(m.at("hearth_generations_total"), 3);
  EXPECT_EQ(m.at("hearth_generation_tokens_total"), 39);
  EXPECT_GT(m.at("hearth_prompt_tokens_total"), 0);
  EXPECT_EQ(m.at("hearth_requests_queued"), 0);
  EXPECT_EQ(m.at("hearth_requests_running"), 0);
  EXPECT_EQ(m.at(R"(hearth_http_request_duration_seconds_count{route="/v1/chat/completions"})"), 4);
  EXPECT_EQ(
      m.at(
          R"(hearth_http_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"})"),
      4);
  EXPECT_EQ(m.at("hearth_time_to_first_token_seconds_count"), 3);
  // Buckets are cumulative.
  double previous = 0;
  for (const double le : server::Metrics::kBuckets) {
    std::ostringstream key;
    key << R"(hearth_http_request_duration_seconds_bucket{route="/v1/chat/completions",le=")" << le
        << "\"}";
    const double v = m.at(key.str());
    EXPECT_GE(v, previous) << key.str();
    previous = v;
  }
  // Every metric has HELP and TYPE lines.
  for (const char* name : {"hearth_http_requests_total", "hearth_requests_queued",
                           "hearth_time_to_first_token_seconds"}) {
    EXPECT_NE(res->body.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
    EXPECT_NE(res->body.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
  }
}

TEST(PerfLogTest, OneLineWithEveryField) {
  Usage usage;
  usage.prompt_tokens = 120;
  usage.cached_tokens = 20;
  usage.completion_tokens = 51;
  Timings timings;
  timings.prefill_s = 0.5;
  timings.decode_s = 2.0;
  timings.ttft_s = 0.55;
  timings.peak_rss_bytes = 300u << 20;
  EXPECT_EQ(server::format_perf_line(usage, timings),
            "PERF prompt_tok=120 cached_tok=20 prefill_s=0.500 prompt_tps=200.0 gen_tok=51 "
            "gen_tps=25.0 ttft_ms=550.0 peak_mem_mb=300.0");
}

}  // namespace
}  // namespace hearth::test
