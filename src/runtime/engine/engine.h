// The engine: owns a loaded model, its tokenizer and chat template, and runs generation
// requests on its own thread. CLI commands and the HTTP server are thin shells around it:
// they turn user input into a GenerationRequest and consume the event stream.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hearth/request.h"
#include "hearth/status.h"

namespace hearth {

struct EngineOptions {
  std::string model_path;      // .gguf file or Hugging Face model directory
  int threads = 0;             // 0: physical cores
  int64_t context_size = 0;    // 0: the model's trained context length
  std::string device = "cpu";  // "cpu" or "cuda"
  int max_queue = 64;          // requests waiting beyond this are refused (ResourceExhausted)
};

struct EngineModelInfo {
  std::string id;            // name clients use ("SmolLM2-135M-Instruct.Q4_1")
  std::string architecture;  // "llama"
  int64_t context_size = 0;  // effective (may be below the trained length)
  int64_t vocab_size = 0;
  std::string chat_template_source;  // for tool-call dialect detection; empty if none
};

struct ChatRenderRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null or array (key order kept: templates print schemas)
  bool add_generation_prompt = true;
  nlohmann::ordered_json template_kwargs =
      nlohmann::ordered_json::object();  // enable_thinking, ...
};

// Receives a request's events on the engine thread; return false to cancel (takes effect
// before the next decode step). Called exactly once with kDone or kError at the end.
using EventSink = std::function<bool(const GenerationEvent&)>;

class Engine {
 public:
  virtual ~Engine() = default;

  virtual const EngineModelInfo& model_info() const = 0;

  // Text <-> tokens with the model's tokenizer.
  virtual Expected<std::vector<int32_t>> tokenize(const std::string& text, bool add_special,
                                                  bool parse_special) const = 0;
  virtual Expected<std::string> detokenize(const std::vector<int32_t>& tokens) const = 0;
  // The prompt the model's chat template makes of a conversation.
  virtual Expected<std::string> render_chat(const ChatRenderRequest& req) const = 0;

  // Queues a request. Errors now (not through the sink) for: an empty prompt, a prompt that
  // does not fit the context (OutOfRange, "context_length_exceeded"), a full queue
  // (ResourceExhausted), invalid sampling parameters (InvalidArgument).
  virtual Expected<uint64_t> submit(GenerationRequest req, EventSink sink) = 0;
  virtual void cancel(uint64_t request_id) = 0;

  // Requests waiting and running, for /health and /metrics.
  virtual int queued() const = 0;
  virtual int running() const = 0;
};

}  // namespace hearth
