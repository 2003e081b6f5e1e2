// Decides when generation ends and which decoded text is safe to show.
//
// Per generated token the loop passes the token id and the text the streaming detokenizer
// produced for it. Stop tokens (EOS/EOT and any extra ids) end generation without emitting their
// text. Stop strings are matched on the decoded text across token boundaries; text that could
// be the start of a stop string is held back until it either completes the stop string (then
// it and everything after it is dropped) or can no longer do so (then it is released). So the
// concatenation of everything emitted is exactly the generated text up to the first stop string,
// however the text was split into tokens. The token limit ends generation with reason "length"
// and releases any held text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/request.h"
#include "hearth/status.h"

namespace hearth {

// "stop" / "length" as OpenAI spells them; "" for kNone.
std::string_view finish_reason_name(FinishReason reason);

struct StopConfig {
  std::vector<int32_t> stop_token_ids;    // EOS, EOT and request-supplied stop ids
  std::vector<std::string> stop_strings;  // non-empty; matched on decoded text
  int64_t max_tokens = -1;                // -1 = no limit
};

struct StopStep {
  std::string text;  // safe to emit now
  bool finished = false;
  FinishReason reason = FinishReason::kNone;
  std::string matched_stop_string;  // the stop string that ended generation, if one did
  int32_t matched_stop_token = -1;  // the stop token that ended generation, if one did
};

class StopMatcher {
 public:
  // InvalidArgument for an empty stop string or max_tokens < -1 or 0.
  static Expected<StopMatcher> create(StopConfig config);

  // One generated token and its decoded text. After a finished step, further calls return an
  // empty finished step.
  StopStep on_token(int32_t token, std::string_view piece);
  // Generation ended for another reason (context full, cancelled): releases held text.
  StopStep flush();

  int64_t tokens_seen() const { return tokens_; }
  bool finished() const { return finished_; }

 private:
  explicit StopMatcher(StopConfig config);
  void release_all(StopStep& step);

  StopConfig config_;
  std::string held_;  // the tail that may still become a stop string
  int64_t tokens_ = 0;
  bool finished_ = false;
};

}  // namespace hearth
