// The in-process engine: one model, one worker thread, requests served first-come first-served.
// It keeps the last sequence's KV cache and reuses its longest common prefix with the next
// prompt, so a chat's next turn only prefills what is new. Continuous batching and the paged
// prefix cache replace the single slot later without changing the Engine interface.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat/template/chat_template.h"
#include "models/model.h"
#include "runtime/engine/engine.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

struct LocalEngineOptions : EngineOptions {
  // Replaces the model's chat template (a Jinja source), e.g. for models that ship none.
  std::optional<std::string> chat_template_override;
  // Tokens per prefill step; progress events and cancellation checks happen between steps.
  int64_t prefill_chunk = 256;
  // Test facility: instead of sampling, request i emits the tokens of
  // scripted_outputs[i % size] (through the real tokenizer) and then ends as if it hit EOS.
  // The model still runs every token, so timings and caching behave as usual.
  std::vector<std::string> scripted_outputs;
};

class LocalEngine final : public Engine {
 public:
  static Expected<std::unique_ptr<LocalEngine>> create(const LocalEngineOptions& options);
  ~LocalEngine() override;
  LocalEngine(const LocalEngine&) = delete;
  LocalEngine& operator=(const LocalEngine&) = delete;

  const EngineModelInfo& model_info() const override { return info_; }
  Expected<std::vector<int32_t>> tokenize(const std::string& text, bool add_special,
                                          bool parse_special) const override;
  Expected<std::string> detokenize(const std::vector<int32_t>& tokens) const override;
  Expected<std::string> render_chat(const ChatRenderRequest& req) const override;
  Expected<uint64_t> submit(GenerationRequest req, EventSink sink) override;
  void cancel(uint64_t request_id) override;
  int queued() const override;
  int running() const override;

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  bool has_chat_template() const { return chat_template_.has_value(); }

 private:
  struct Job {
    uint64_t id = 0;
    GenerationRequest request;
    EventSink sink;
    double submitted_at = 0;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };

  explicit LocalEngine(const LocalEngineOptions& options) : options_(options) {}
  void worker_loop();
  // Runs one request to its end; sends kDone or kError through the sink.
  void run_job(Job& job);
  Status generate(Job& job, GenerationEvent& done);
  // Brings the KV cache to `prompt` (reusing the cached prefix); returns how many prompt tokens
  // were reused and leaves the last position's logits in logits_.
  Expected<int64_t> prefill(Job& job, const std::vector<int32_t>& prompt);

  LocalEngineOptions options_;
  EngineModelInfo info_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> cached_tokens_;  // the tokens whose K/V are in cache_
  std::vector<float> logits_;           // [vocab] of the last forwarded position
  // The logits after the last prompt's final token, valid while cached_tokens_ still starts with
  // those prompt_logits_len_ tokens. A repeated prompt then needs no forward at all, and gets the
  // same first token as the first time (a 1-token forward takes the decode kernels, whose 8-bit
  // activations shift logits by ~1%: enough to flip a near-tie).
  std::vector<float> prompt_logits_;
  int64_t prompt_logits_len_ = 0;
  uint64_t scripted_index_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  uint64_t running_id_ = 0;
  std::shared_ptr<std::atomic<bool>> running_cancelled_;
  std::thread worker_;
};

}  // namespace hearth
