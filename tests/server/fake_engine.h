// A deterministic Engine for server tests: a byte-level tokenizer with four special tokens, a
// ChatML-like template, scripted output pieces, configurable delays and queue limit, and
// observable cancellation. It runs requests one at a time on its own thread, like a real
// engine without batching.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine/engine.h"

namespace hearth::test {

struct FakeEngineConfig {
  std::string model_id = "fake-model";
  int64_t context_size = 512;
  int max_queue = 4;  // requests waiting behind the running one
  // Each entry is one kText event; its bytes are its tokens.
  std::vector<std::string> script = {"Hello", ",", " world", "!"};
  std::chrono::milliseconds step_delay{0};     // before each text event
  int prefill_progress_events = 0;             // kProgress events before the first text
  std::chrono::milliseconds prefill_delay{0};  // before each progress event
  int64_t cached_tokens = 0;                   // reported in usage (capped at the prompt size)
  std::optional<std::string> fail_with;        // end with kError(Internal, this) after the script
  std::string chat_template_source;
};

// What happened to one submitted request.
struct FakeRequestRecord {
  GenerationRequest request;
  int text_events = 0;        // text events delivered to the sink
  bool sink_refused = false;  // the sink returned false
  bool cancel_called = false;
  FinishReason finish = FinishReason::kNone;
  bool finished = false;
};

class FakeEngine final : public Engine {
 public:
  static constexpr int32_t kBos = 256;
  static constexpr int32_t kImStart = 257;
  static constexpr int32_t kImEnd = 258;
  static constexpr int32_t kEos = 259;
  static constexpr int64_t kVocabSize = 260;

  explicit FakeEngine(FakeEngineConfig config = {});
  ~FakeEngine() override;

  const EngineModelInfo& model_info() const override { return info_; }
  Expected<std::vector<int32_t>> tokenize(const std::string& text, bool add_special,
                                          bool parse_special) const override;
  Expected<std::string> detokenize(const std::vector<int32_t>& tokens) const override;
  Expected<std::string> render_chat(const ChatRenderRequest& req) const override;
  Expected<uint64_t> submit(GenerationRequest req, EventSink sink) override;
  void cancel(uint64_t request_id) override;
  int queued() const override;
  int running() const override;

  // Test controls and observations.
  void set_script(std::vector<std::string> script);
  void set_step_delay(std::chrono::milliseconds delay);
  void set_prefill(int progress_events, std::chrono::milliseconds delay);
  void set_fail_with(std::optional<std::string> message);
  // Blocks the worker before it starts the next request until release() (to fill the queue).
  void hold();
  void release();
  // Waits until nothing is queued or running; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::optional<FakeRequestRecord> record(uint64_t id) const;
  std::optional<FakeRequestRecord> last_record() const;
  std::optional<ChatRenderRequest> last_render() const;
  size_t submitted_count() const;

 private:
  struct Job {
    uint64_t id;
    GenerationRequest request;
    EventSink sink;
  };
  void worker_loop();
  void run_job(Job& job);
  bool cancelled(uint64_t id) const;

  EngineModelInfo info_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  FakeEngineConfig config_;
  std::deque<Job> queue_;
  bool running_job_ = false;
  bool held_ = false;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, FakeRequestRecord> records_;
  std::map<uint64_t, bool> cancel_requested_;
  uint64_t last_id_ = 0;
  mutable std::optional<ChatRenderRequest> last_render_;
  std::thread worker_;
};

}  // namespace hearth::test
