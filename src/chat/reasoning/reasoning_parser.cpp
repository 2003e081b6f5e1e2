#include "chat/reasoning/reasoning_parser.h"

#include <utility>

#include "core/text_match.h"

namespace hearth {
namespace {

size_t leading_space(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_ascii_space(text[i])) ++i;
  return i;
}

size_t without_trailing_space(std::string_view text, size_t end) {
  while (end > 0 && is_ascii_space(text[end - 1])) --end;
  return end;
}

}  // namespace

ReasoningStart reasoning_start_for_prompt(std::string_view rendered_prompt,
                                          const ReasoningOptions& options) {
  const size_t start = rendered_prompt.rfind(options.start_marker);
  if (start == std::string_view::npos) return ReasoningStart::kAuto;
  const size_t end = rendered_prompt.find(options.end_marker, start);
  return end == std::string_view::npos ? ReasoningStart::kInReasoning : ReasoningStart::kAuto;
}

Expected<ReasoningParser> ReasoningParser::create(ReasoningOptions options) {
  if (options.start_marker.empty() || options.end_marker.empty()) {
    return invalid_argument("reasoning: start and end markers must not be empty");
  }
  return ReasoningParser(std::move(options));
}

ReasoningParser::ReasoningParser(ReasoningOptions options) : options_(std::move(options)) {
  switch (options_.start) {
    case ReasoningStart::kAuto:
      state_ = State::kBeforeStart;
      break;
    case ReasoningStart::kInReasoning:
      state_ = State::kReasoning;
      may_repeat_start_ = true;
      break;
    case ReasoningStart::kDisabled:
      state_ = State::kPassthrough;
      break;
  }
}

void ReasoningParser::feed(std::string_view piece, ReasoningDelta& out) {
  pending_.append(piece);
  process(out);
}

bool ReasoningParser::skip_leading_reasoning(bool at_end) {
  while (!reasoning_started_) {
    pending_.erase(0, leading_space(pending_));
    if (pending_.empty()) return false;
    if (may_repeat_start_) {
      const std::string& marker = options_.start_marker;
      if (pending_.compare(0, marker.size(), marker) == 0) {
        pending_.erase(0, marker.size());
        may_repeat_start_ = false;
        continue;
      }
      if (!at_end && marker.compare(0, pending_.size(), pending_) == 0) return false;
      may_repeat_start_ = false;
    }
    reasoning_started_ = true;
  }
  return true;
}

void ReasoningParser::process(ReasoningDelta& out) {
  for (;;) {
    switch (state_) {
      case State::kPassthrough:
        out.content += pending_;
        pending_.clear();
        return;
      case State::kBeforeStart: {
        const std::string_view text = std::string_view(pending_).substr(leading_space(pending_));
        const std::string& marker = options_.start_marker;
        if (text.substr(0, marker.size()) == marker) {
          pending_.erase(0, pending_.size() - text.size() + marker.size());
          state_ = State::kReasoning;
          continue;
        }
        // Only whitespace so far, or a prefix of the marker: wait.
        if (std::string_view(marker).substr(0, text.size()) == text) return;
        state_ = State::kPassthrough;
        continue;
      }
      case State::kReasoning: {
        if (!skip_leading_reasoning(false)) return;
        const size_t end = pending_.find(options_.end_marker);
        if (end != std::string::npos) {
          out.reasoning.append(pending_, 0, without_trailing_space(pending_, end));
          pending_.erase(0, end + options_.end_marker.size());
          state_ = State::kContent;
          continue;
        }
        // Hold a possible partial end marker and the whitespace before it (trailing whitespace
        // of reasoning is trimmed if the block ends there).
        const size_t hold_from =
            pending_.size() - partial_marker_suffix(pending_, options_.end_marker);
        const size_t emit = without_trailing_space(pending_, hold_from);
        out.reasoning.append(pending_, 0, emit);
        pending_.erase(0, emit);
        return;
      }
      case State::kContent:
        if (!content_started_) {
          pending_.erase(0, leading_space(pending_));
          if (pending_.empty()) return;
          content_started_ = true;
        }
        out.content += pending_;
        pending_.clear();
        return;
    }
  }
}

void ReasoningParser::finish(ReasoningDelta& out) {
  switch (state_) {
    case State::kBeforeStart:
      // Whitespace or a prefix of the start marker that never completed: it is content.
      out.content += pending_;
      break;
    case State::kReasoning:
      // Truncated inside reasoning: held text was reasoning after all (trimmed at the end).
      if (skip_leading_reasoning(true)) {
        out.reasoning.append(pending_, 0, without_trailing_space(pending_, pending_.size()));
      }
      break;
    case State::kContent:
    case State::kPassthrough:
      process(out);
      break;
  }
  pending_.clear();
}

}  // namespace hearth
