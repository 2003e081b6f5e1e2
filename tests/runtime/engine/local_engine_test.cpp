// LocalEngine on the real default model: prefix reuse must not change answers, the cached token
// count is reported, over-long prompts and bad requests are refused with the cache left usable,
// and cancellation ends a request with kCancelled. Skips when the default model is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine/local_engine.h"
#include "support/test_support.h"

namespace hearth {
namespace {

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  FinishReason finish = FinishReason::kNone;
  Usage usage;
  Status status;
  int progress_events = 0;
};

// Runs one request to completion (the sink sees every event on the engine thread).
Outcome run(LocalEngine& engine, GenerationRequest req, int cancel_after_tokens = -1) {
  auto done = std::make_shared<std::promise<Outcome>>();
  auto out = std::make_shared<Outcome>();
  auto fut = done->get_future();
  const auto id = engine.submit(std::move(req), [=](const GenerationEvent& ev) {
    switch (ev.kind) {
      case GenerationEvent::Kind::kDone:
      case GenerationEvent::Kind::kError:
        out->finish = ev.finish;
        out->usage = ev.usage;
        out->status = ev.status;
        done->set_value(*out);
        return true;
      case GenerationEvent::Kind::kProgress:
        ++out->progress_events;
        return true;
      default:
        out->tokens.insert(out->tokens.end(), ev.tokens.begin(), ev.tokens.end());
        out->text += ev.text;
        return cancel_after_tokens < 0 ||
               static_cast<int>(out->tokens.size()) < cancel_after_tokens;
    }
  });
  if (!id.ok()) {
    Outcome o;
    o.status = id.status();
    return o;
  }
  return fut.get();
}

class LocalEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = test::default_model_path();
    if (!path) GTEST_SKIP() << "default model not found; run scripts/bootstrap.sh test";
    options_.model_path = *path;
    options_.threads = 2;
    options_.context_size = 512;
  }
  std::unique_ptr<LocalEngine> make(int64_t prefill_chunk = 256) {
    LocalEngineOptions o = options_;
    o.prefill_chunk = prefill_chunk;
    auto e = LocalEngine::create(o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  GenerationRequest chat(LocalEngine& engine, const std::string& question, int64_t max_tokens) {
    ChatRenderRequest r;
    r.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", question}}});
    auto text = engine.render_chat(r);
    EXPECT_TRUE(text.ok()) << text.status().to_string();
    auto ids = engine.tokenize(text.ok() ? *text : "", false, true);
    EXPECT_TRUE(ids.ok());
    GenerationRequest req;
    req.prompt = ids.ok() ? *ids : std::vector<int32_t>{};
    req.max_tokens = max_tokens;
    req.sampling.temperature = 0.0f;  // greedy: answers comparable token for token
    return req;
  }
  LocalEngineOptions options_;
};

TEST_F(LocalEngineTest, RepeatedPromptReusesTheCacheAndGivesTheSameAnswer) {
  auto engine = make();
  ASSERT_TRUE(engine);
  const GenerationRequest req = chat(*engine, "What is the capital of France?", 16);
  const Outcome first = run(*engine, req);
  const Outcome second = run(*engine, req);
  ASSERT_TRUE(first.status.ok()) << first.status.to_string();
  EXPECT_EQ(first.usage.cached_tokens, 0);
  EXPECT_EQ(second.usage.cached_tokens, static_cast<int64_t>(req.prompt.size()));
  EXPECT_EQ(first.tokens, second.tokens);
  EXPECT_NE(first.text.find("Paris"), std::string::npos) << first.text;
}

TEST_F(LocalEngineTest, AnswerDoesNotDependOnWhatWasCachedBefore) {
  // The second prompt shares the template's system preamble with the first: a fresh engine and
  // one that reuses that prefix must answer alike (the tail is rerun on the batched kernels).
  auto warm = make();
  auto cold = make();
  ASSERT_TRUE(warm && cold);
  const GenerationRequest other = chat(*warm, "Name three colors.", 8);
  const GenerationRequest req = chat(*warm, "What is the capital of France?", 16);
  ASSERT_TRUE(run(*warm, other).status.ok());
  const Outcome reused = run(*warm, req);
  const Outcome fresh = run(*cold, req);
  EXPECT_GT(reused.usage.cached_tokens, 0);
  EXPECT_LT(reused.usage.cached_tokens, static_cast<int64_t>(req.prompt.size()));
  EXPECT_EQ(reused.tokens, fresh.tokens) << reused.text << " | " << fresh.text;
}

TEST_F(LocalEngineTest, ChunkedPrefillReportsProgressAndMatchesOneShot) {
  auto chunked = make(16);  // chunks long enough for the batched kernels
  auto whole = make();
  ASSERT_TRUE(chunked && whole);
  const GenerationRequest req = chat(*whole, "What is the capital of France?", 12);
  const Outcome a = run(*chunked, req);
  const Outcome b = run(*whole, req);
  EXPECT_GT(a.progress_events, 0);
  EXPECT_EQ(b.progress_events, 0);
  EXPECT_EQ(a.tokens, b.tokens) << a.text << " | " << b.text;
}

TEST_F(LocalEngineTest, OverlongPromptIsRefusedAndTheEngineKeepsServing) {
  auto engine = make();
  ASSERT_TRUE(engine);
  GenerationRequest big;
  big.prompt.assign(600, 1);  // past the 512-token context
  big.max_tokens = 4;
  const Outcome refused = run(*engine, big);
  EXPECT_FALSE(refused.status.ok());
  EXPECT_NE(refused.status.message().find("512"), std::string::npos) << refused.status.message();
  const Outcome ok = run(*engine, chat(*engine, "What is the capital of France?", 8));
  EXPECT_TRUE(ok.status.ok()) << ok.status.to_string();
  EXPECT_FALSE(ok.tokens.empty());
}

TEST_F(LocalEngineTest, InvalidUtf8TextIsRefusedWithTheOffendingByte) {
  auto engine = make();
  ASSERT_TRUE(engine);
  for (const std::string& bad :
       {std::string("hi \xff there"), std::string("\xc0\x80"), std::string("ok \xed\xa0\x80")}) {
    auto ids = engine->tokenize(bad, true, false);
    ASSERT_FALSE(ids.ok()) << "accepted invalid UTF-8";
    EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(ids.status().message().find("not valid UTF-8: byte"), std::string::npos)
        << ids.status().message();
  }
  auto good = engine->tokenize("caf\xc3\xa9 \xf0\x9f\x99\x82", true, false);
  EXPECT_TRUE(good.ok()) << good.status().to_string();
}

TEST_F(LocalEngineTest, CancellationFromTheSinkEndsTheRequest) {
  auto engine = make();
  ASSERT_TRUE(engine);
  const Outcome o = run(*engine, chat(*engine, "Write a long story about a dragon.", 200), 3);
  EXPECT_EQ(o.finish, FinishReason::kCancelled);
  EXPECT_EQ(o.tokens.size(), 3u);
  // kDone is sent from the worker just before it lets go of the request.
  for (int i = 0; i < 200 && engine->running() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(engine->running(), 0);
}

}  // namespace
}  // namespace hearth
