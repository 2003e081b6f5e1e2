// Authentication, CORS, routing errors (404/405), body limits (413) and a full queue (429).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "server_test_util.h"

namespace hearth::test {
namespace {

using nlohmann::json;

server::ServerOptions with_api_key() {
  auto options = ServerHarness::default_options();
  options.api_key = "sk-test-123";
  return options;
}

TEST(AuthTest, BearerKeyIsRequiredExceptForHealth) {
  ServerHarness harness({}, with_api_key());
  auto res = harness.post_json("/v1/chat/completions", chat_body());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(harness.engine().submitted_count(), 0u);

  res = harness.post_json("/v1/chat/completions", chat_body(),
                          {{"Authorization", "Bearer sk-test-124"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = harness.post_json("/v1/chat/completions", chat_body(), {{"Authorization", "sk-test-123"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);

  res = harness.post_json("/v1/chat/completions", chat_body(),
                          {{"Authorization", "Bearer sk-test-123"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;

  for (const char* path : {"/v1/models", "/metrics"}) {
    res = harness.get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << path;
    res = harness.get(path, {{"Authorization", "Bearer sk-test-123"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
  }
  res = harness.get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(AuthTest, RejectedBodiesAreNotReadAndTheConnectionCloses) {
  ServerHarness harness({}, with_api_key());
  const std::string response = raw_exchange(
      harness.port(), http_request("POST", "/v1/chat/completions", chat_body().dump()));
  EXPECT_EQ(raw_status(response), 401);
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  // The unread body must not be parsed as a second request (one response only).
  EXPECT_EQ(response.find("HTTP/1.1", 5), std::string::npos) << response;
}

TEST(CorsTest, NoOriginsConfiguredMeansNoCorsHeaders) {
  ServerHarness harness;
  auto res = harness.get("/v1/models", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
  auto cli = harness.client();
  auto preflight = cli.Options("/v1/chat/completions", {{"Origin", "http://evil.example"},
                                                        {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 403);
  EXPECT_FALSE(preflight->has_header("Access-Control-Allow-Origin"));
}

TEST(CorsTest, AllowedOriginsGetHeadersAndPreflights) {
  auto options = with_api_key();
  options.allowed_origins = {"http://app.example", "https://ui.example/"};
  ServerHarness harness({}, options);
  auto cli = harness.client();
  // Preflights carry no credentials, so they pass without the API key.
  auto preflight = cli.Options(
      "/v1/chat/completions",
      {{"Origin", "https://ui.example"},
       {"Access-Control-Request-Method", "POST"},
       {"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "https://ui.example");
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Methods").find("POST"),
            std::string::npos);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Headers"),
            "authorization, content-type, x-stainless-os");
  EXPECT_EQ(preflight->get_header_value("Vary"), "Origin");

  auto res = harness.post_json(
      "/v1/chat/completions", chat_body(),
      {{"Origin", "http://app.example"}, {"Authorization", "Bearer sk-test-123"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "http://app.example");

  // Errors carry the header too, so browsers can read them.
  res = harness.post_json("/v1/chat/completions", chat_body(), {{"Origin", "http://app.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "http://app.example");

  res = harness.get("/health", {{"Origin", "http://other.example"}});
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
}

TEST(CorsTest, WildcardAllowsEveryOrigin) {
  auto options = ServerHarness::default_options();
  options.allowed_origins = {"*"};
  ServerHarness harness({}, options);
  auto res = harness.get("/health", {{"Origin", "http://anything.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "*");
}

TEST(RoutingTest, NotFoundAndMethodNotAllowed) {
  ServerHarness harness;
  auto res = harness.get("/v2/anything");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "invalid_request_error");

  res = harness.get("/v1/completions");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST, OPTIONS");
  res = harness.post_json("/health", json::object());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD, OPTIONS");
}

TEST(LimitsTest, BodyOverTheLimitIs413AndTheServerCarriesOn) {
  auto options = ServerHarness::default_options();
  options.max_body_bytes = 1000;
  ServerHarness harness({}, options);
  auto res = harness.post_json("/v1/chat/completions", chat_body(std::string(2000, 'a')));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "request_too_large");
  res = harness.post_json("/v1/chat/completions", chat_body(std::string(300, 'a')));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(LimitsTest, FullQueueIs429WithRetryAfter) {
  FakeEngineConfig config;
  config.max_queue = 2;
  ServerHarness harness(config);
  harness.engine().hold();
  std::vector<std::future<int>> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(std::async(std::launch::async, [&harness] {
      auto res = harness.post_json("/v1/chat/completions", chat_body());
      return res ? res->status : -1;
    }));
  }
  while (harness.engine().queued() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto res = harness.post_json("/v1/chat/completions", chat_body());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  const json error = json::parse(res->body)["error"];
  EXPECT_EQ(error["code"], "queue_full");
  EXPECT_EQ(error["type"], "rate_limit_error");
  // /health still answers while the queue is full, and reports it.
  auto health = harness.get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body)["queued"], 2);
  harness.engine().release();
  for (auto& f : waiting) EXPECT_EQ(f.get(), 200);
}

}  // namespace
}  // namespace hearth::test
