// Server-sent event streams: chunk schema and order for every chunk kind, usage chunks,
// keep-alives, errors mid-stream, and cancellation when the client hangs up.
#include <gtest/gtest.h>

#include <thread>

#include "scripted_output_parser.h"
#include "server_test_util.h"

namespace hearth::test {
namespace {

using nlohmann::json;

struct Stream {
  int status = -1;
  std::string headers;
  std::vector<SseEvent> events;
  std::vector<json> chunks;
};

Stream stream_post(int port, const std::string& path, const json& body,
                   const std::string& extra_headers = "") {
  const std::string response = raw_post(port, path, body, extra_headers);
  Stream s;
  s.status = raw_status(response);
  const size_t split = response.find("\r\n\r\n");
  s.headers = response.substr(0, split);
  s.events = parse_sse(dechunk(raw_body(response)));
  s.chunks = sse_json_chunks(s.events);
  return s;
}

json stream_body(json body = chat_body()) {
  body["stream"] = true;
  return body;
}

void expect_common_chunk_fields(const std::vector<json>& chunks, const std::string& object) {
  ASSERT_FALSE(chunks.empty());
  for (const json& c : chunks) {
    EXPECT_EQ(c["id"], chunks[0]["id"]);
    EXPECT_EQ(c["object"], object);
    EXPECT_EQ(c["created"], chunks[0]["created"]);
    EXPECT_EQ(c["model"], "fake-model");
    EXPECT_EQ(c["system_fingerprint"], chunks[0]["system_fingerprint"]);
  }
}

TEST(StreamingTest, ChatChunksInOrder) {
  ServerHarness harness;
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", stream_body());
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.headers.find("Content-Type: text/event-stream"), std::string::npos) << s.headers;
  EXPECT_NE(s.headers.find("Cache-Control: no-cache"), std::string::npos);
  ASSERT_FALSE(s.events.empty());
  EXPECT_EQ(s.events.back().data, "[DONE]");
  ASSERT_EQ(s.chunks.size(), 6u);  // role, 4 content pieces, finish
  expect_common_chunk_fields(s.chunks, "chat.completion.chunk");
  EXPECT_EQ(s.chunks[0]["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(s.chunks[0]["choices"][0], (json{{"index", 0},
                                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                                             {"logprobs", nullptr},
                                             {"finish_reason", nullptr}}));
  std::string content;
  for (size_t i = 1; i + 1 < s.chunks.size(); ++i) {
    const json& choice = s.chunks[i]["choices"][0];
    EXPECT_TRUE(choice["finish_reason"].is_null());
    EXPECT_EQ(choice["delta"].size(), 1u) << choice.dump();
    content += choice["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(content, "Hello, world!");
  EXPECT_EQ(s.chunks.back()["choices"][0], (json{{"index", 0},
                                                 {"delta", json::object()},
                                                 {"logprobs", nullptr},
                                                 {"finish_reason", "stop"}}));
  for (const json& c : s.chunks) EXPECT_FALSE(c.contains("usage")) << c.dump();
}

TEST(StreamingTest, UsageChunkWhenAskedFor) {
  ServerHarness harness;
  json body = stream_body();
  body["stream_options"] = {{"include_usage", true}};
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  ASSERT_GE(s.chunks.size(), 2u);
  for (size_t i = 0; i + 1 < s.chunks.size(); ++i) {
    EXPECT_TRUE(s.chunks[i].contains("usage") && s.chunks[i]["usage"].is_null());
  }
  const json& last = s.chunks.back();
  EXPECT_EQ(last["choices"], json::array());
  EXPECT_EQ(last["usage"]["completion_tokens"], 13);
  EXPECT_EQ(last["usage"]["total_tokens"], last["usage"]["prompt_tokens"].get<int>() + 13);
  EXPECT_EQ(last["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(s.chunks[s.chunks.size() - 2]["choices"][0]["finish_reason"], "stop");
}

TEST(StreamingTest, ReasoningContentAndToolCallDeltas) {
  auto options = ServerHarness::default_options();
  options.output_parser_factory = scripted_output_parser_factory();
  FakeEngineConfig config;
  config.script = {"think:Let me ",   "think:check.",   "Sure.",         "call:get_weather",
                   "args:{\"city\":", "args:\"Oslo\"}", "call:get_time", "args:{}"};
  ServerHarness harness(config, options);
  json body = stream_body();
  body["tools"] = {{{"type", "function"}, {"function", {{"name", "get_weather"}}}},
                   {{"type", "function"}, {"function", {{"name", "get_time"}}}}};
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  std::vector<json> deltas;
  for (const json& c : s.chunks) deltas.push_back(c["choices"][0]["delta"]);
  ASSERT_EQ(deltas.size(), 10u);
  EXPECT_EQ(deltas[0], (json{{"role", "assistant"}, {"content", ""}}));
  EXPECT_EQ(deltas[1], (json{{"reasoning_content", "Let me "}}));
  EXPECT_EQ(deltas[2], (json{{"reasoning_content", "check."}}));
  EXPECT_EQ(deltas[3], (json{{"content", "Sure."}}));
  const json& start = deltas[4]["tool_calls"][0];
  EXPECT_EQ(start["index"], 0);
  EXPECT_EQ(start["type"], "function");
  EXPECT_EQ(start["function"], (json{{"name", "get_weather"}, {"arguments", ""}}));
  const std::string id0 = start["id"];
  EXPECT_EQ(id0.rfind("call_", 0), 0u);
  EXPECT_EQ(deltas[5],
            (json{{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}}}}));
  EXPECT_EQ(deltas[6],
            (json{{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\"Oslo\"}"}}}}}}}));
  EXPECT_EQ(deltas[7]["tool_calls"][0]["index"], 1);
  EXPECT_NE(deltas[7]["tool_calls"][0]["id"], id0);
  EXPECT_EQ(deltas[7]["tool_calls"][0]["function"]["name"], "get_time");
  EXPECT_EQ(deltas[8]["tool_calls"][0]["function"]["arguments"], "{}");
  EXPECT_EQ(deltas[9], json::object());
  EXPECT_EQ(s.chunks.back()["choices"][0]["finish_reason"], "tool_calls");

  // The same script, not streamed, gives the same message.
  body["stream"] = false;
  auto res = harness.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  const json message = json::parse(res->body)["choices"][0]["message"];
  EXPECT_EQ(message["reasoning_content"], "Let me check.");
  EXPECT_EQ(message["content"], "Sure.");
  EXPECT_EQ(message["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
  EXPECT_EQ(message["tool_calls"][1]["function"]["name"], "get_time");
}

TEST(StreamingTest, KeepAlivesDuringPrefillAndWhileSilent) {
  auto options = ServerHarness::default_options();
  options.keepalive_interval = std::chrono::milliseconds(40);
  FakeEngineConfig config;
  config.prefill_progress_events = 3;
  config.prefill_delay = std::chrono::milliseconds(5);
  config.script = {"a", "b"};
  config.step_delay = std::chrono::milliseconds(200);
  ServerHarness harness(config, options);
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", stream_body());
  ASSERT_EQ(s.status, 200);
  // role chunk, then >= 3 progress keep-alives before the first content, and timer
  // keep-alives during the 200 ms steps.
  ASSERT_GE(s.events.size(), 2u);
  EXPECT_FALSE(s.events[0].comment);
  size_t comments_before_content = 0;
  size_t i = 1;
  for (; i < s.events.size() && s.events[i].comment; ++i) {
    EXPECT_EQ(s.events[i].data, "keep-alive");
    ++comments_before_content;
  }
  EXPECT_GE(comments_before_content, 3u + 2u);
  size_t comments_between = 0;
  for (++i; i < s.events.size() && s.events[i].comment; ++i) ++comments_between;
  EXPECT_GE(comments_between, 2u);
  std::string content;
  for (const json& c : s.chunks) {
    if (c["choices"][0]["delta"].contains("content")) {
      content += c["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_EQ(content, "ab");
}

TEST(StreamingTest, ClientDisconnectCancelsTheGenerationPromptly) {
  FakeEngineConfig config;
  config.script = std::vector<std::string>(2000, "x");
  config.step_delay = std::chrono::milliseconds(2);
  ServerHarness harness(config);
  RawConnection conn(harness.port());
  ASSERT_TRUE(conn.send_all(http_request("POST", "/v1/chat/completions", stream_body().dump())));
  const std::string& got = conn.read_until([](const std::string& r) {
    size_t n = 0;
    for (size_t pos = r.find("\"content\":\"x\""); pos != std::string::npos;
         pos = r.find("\"content\":\"x\"", pos + 1)) {
      ++n;
    }
    return n >= 3;
  });
  ASSERT_NE(got.find("\"content\":\"x\""), std::string::npos) << got;
  conn.close();
  const auto closed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(harness.engine().wait_idle());
  const auto stopped_after = std::chrono::steady_clock::now() - closed_at;
  const auto record = harness.engine().last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->finish, FinishReason::kCancelled);
  EXPECT_TRUE(record->cancel_called || record->sink_refused);
  EXPECT_LT(record->text_events, 1000);
  EXPECT_LT(stopped_after, std::chrono::milliseconds(1000));
  auto metrics = harness.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("hearth_client_cancels_total 1\n"), std::string::npos);
}

TEST(StreamingTest, ClientDisconnectCancelsANonStreamingGeneration) {
  FakeEngineConfig config;
  config.script = std::vector<std::string>(2000, "x");
  config.step_delay = std::chrono::milliseconds(2);
  ServerHarness harness(config);
  {
    RawConnection conn(harness.port());
    ASSERT_TRUE(conn.send_all(http_request("POST", "/v1/chat/completions", chat_body().dump())));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(harness.engine().wait_idle());
  const auto record = harness.engine().last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->finish, FinishReason::kCancelled);
  EXPECT_LT(record->text_events, 1000);
}

TEST(StreamingTest, EngineErrorMidStreamIsAnErrorEvent) {
  ServerHarness harness;
  harness.engine().set_fail_with("out of memory on the device");
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", stream_body());
  ASSERT_EQ(s.status, 200);
  ASSERT_GE(s.events.size(), 2u);
  EXPECT_EQ(s.events.back().data, "[DONE]");
  const json error = json::parse(s.events[s.events.size() - 2].data);
  ASSERT_TRUE(error.contains("error")) << error.dump();
  EXPECT_EQ(error["error"]["type"], "server_error");
  EXPECT_NE(error["error"]["message"].get<std::string>().find("out of memory"), std::string::npos);
}

TEST(StreamingTest, TextCompletionStreamWithLogprobs) {
  ServerHarness harness;
  const json body = {{"prompt", "Once"},
                     {"stream", true},
                     {"logprobs", 1},
                     {"stream_options", {{"include_usage", true}}}};
  const Stream s = stream_post(harness.port(), "/v1/completions", body);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.events.back().data, "[DONE]");
  expect_common_chunk_fields(s.chunks, "text_completion");
  std::string text;
  size_t tokens = 0;
  for (size_t i = 0; i + 2 < s.chunks.size(); ++i) {
    const json& choice = s.chunks[i]["choices"][0];
    text += choice["text"].get<std::string>();
    tokens += choice["logprobs"]["tokens"].size();
    EXPECT_TRUE(choice["finish_reason"].is_null());
  }
  EXPECT_EQ(text, "Hello, world!");
  EXPECT_EQ(tokens, 13u);
  EXPECT_EQ(s.chunks[s.chunks.size() - 2]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], 13);
}

TEST(StreamingTest, StreamsAreNeverCompressed) {
  ServerHarness harness;
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", stream_body(),
                               "Accept-Encoding: gzip, deflate, br\r\n");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.headers.find("Content-Encoding"), std::string::npos) << s.headers;
  EXPECT_EQ(s.events.back().data, "[DONE]");
}

TEST(StreamingTest, LogprobsChunks) {
  ServerHarness harness;
  json body = stream_body();
  body.update({{"logprobs", true}, {"top_logprobs", 1}});
  const Stream s = stream_post(harness.port(), "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  size_t entries = 0;
  for (const json& c : s.chunks) {
    const json& lp = c["choices"][0]["logprobs"];
    if (lp.is_null()) continue;
    for (const json& e : lp["content"]) {
      EXPECT_EQ(e["top_logprobs"].size(), 1u);
      ++entries;
    }
  }
  EXPECT_EQ(entries, 13u);
}

}  // namespace
}  // namespace hearth::test
