// A generation request to the engine and the events it streams back. The engine works on token
// ids; chat templates and OpenAI JSON live in front of it (src/chat, src/server).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/sampling.h"
#include "hearth/status.h"

namespace hearth {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // already templated and tokenized
  SamplingParams sampling;
  int64_t max_tokens = -1;        // -1: until end-of-generation or the context is full
  std::vector<std::string> stop;  // stop strings, matched on decoded text
  bool ignore_eos = false;
  bool skip_special_tokens = true;  // in the decoded text
};

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };

struct TokenLogprob {
  int32_t token = -1;
  std::string piece;  // the token's text (may be a partial UTF-8 sequence)
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // best alternatives, highest first
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens whose KV came from the cache
  int64_t completion_tokens = 0;
};

struct Timings {
  double queue_s = 0;    // waiting for the engine
  double prefill_s = 0;  // prompt processing
  double decode_s = 0;   // generating (after the first token)
  double ttft_s = 0;     // submission to first token
  uint64_t peak_rss_bytes = 0;
};

struct GenerationEvent {
  enum class Kind {
    kProgress,  // prefill under way (lets servers send keep-alives during long prompts)
    kText,      // new decoded text and the tokens behind it
    kDone,      // finished: finish reason, usage and timings are set
    kError,     // failed: status is set; no further events
  };
  Kind kind = Kind::kText;
  std::string text;  // stop strings and partial matches are held back, never emitted
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;  // one per token, when requested
  FinishReason finish = FinishReason::kNone;
  std::string stop_matched;  // the stop string that ended generation, if any
  Usage usage;
  Timings timings;
  Status status;
};

}  // namespace hearth
