// Splits a model's streamed output into reasoning_content and content, for models that think
// inside markers (<think>...</think> by default).
//
// How the output starts decides the mode:
//   kAuto         the output may open with the start marker (after whitespace); if it opens with
//                 anything else, everything is content, markers included.
//   kInReasoning  the chat template already opened the marker in the prompt (Qwen3 thinking
//                 models, DeepSeek-R1): the output starts inside reasoning. A repeated start
//                 marker at the very beginning is skipped.
//   kDisabled     no parsing: everything is content (enable_thinking off and the model is not
//                 expected to think).
// reasoning_start_for_prompt() picks kInReasoning or kAuto from the rendered prompt.
//
// One reasoning block per response: after the end marker, everything is content. Whitespace
// around the block (the newlines templates put after <think> and after </think>) is trimmed:
// reasoning has no leading/trailing whitespace, content none leading. Text that may be the start
// of a marker (e.g. "</thi") is held back until it is known, so a partial marker is never
// emitted into either channel; at finish() held text is released as what it turned out to be.
// The concatenated deltas are the same however the output is split into pieces.
#pragma once

#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth {

enum class ReasoningStart { kAuto, kInReasoning, kDisabled };

struct ReasoningOptions {
  std::string start_marker = "<think>";
  std::string end_marker = "</think>";
  ReasoningStart start = ReasoningStart::kAuto;
};

struct ReasoningDelta {
  std::string reasoning;  // comes before content within one delta
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

// kInReasoning when the prompt ends inside an open reasoning block (its last start marker is not
// followed by an end marker), else kAuto.
ReasoningStart reasoning_start_for_prompt(std::string_view rendered_prompt,
                                          const ReasoningOptions& options);

class ReasoningParser {
 public:
  // InvalidArgument when a marker is empty.
  static Expected<ReasoningParser> create(ReasoningOptions options);

  // Appends what `piece` makes safe to emit to `out`.
  void feed(std::string_view piece, ReasoningDelta& out);
  // End of output: releases held text.
  void finish(ReasoningDelta& out);

  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kBeforeStart, kReasoning, kContent, kPassthrough };

  explicit ReasoningParser(ReasoningOptions options);
  void process(ReasoningDelta& out);
  // Reasoning state: returns false when it must wait for more text.
  bool skip_leading_reasoning(bool at_end);

  ReasoningOptions options_;
  State state_;
  std::string pending_;             // received, not yet emitted
  bool reasoning_started_ = false;  // a non-whitespace reasoning byte was seen
  bool may_repeat_start_ = false;   // kInReasoning: the start marker may still come first
  bool content_started_ = false;    // after the end marker: a non-whitespace byte was seen
};

}  // namespace hearth
