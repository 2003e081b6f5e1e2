#include "runtime/sampler/stop_matcher.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/text_match.h"

namespace hearth {

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
    case FinishReason::kNone:
      break;
  }
  return "";
}

Expected<StopMatcher> StopMatcher::create(StopConfig config) {
  for (size_t i = 0; i < config.stop_strings.size(); ++i) {
    if (config.stop_strings[i].empty()) {
      return invalid_argument(fmt::format("stop: stop string {} is empty", i));
    }
  }
  if (config.max_tokens == 0 || config.max_tokens < -1) {
    return invalid_argument(fmt::format(
        "stop: max_tokens must be positive (or -1 for no limit), got {}", config.max_tokens));
  }
  return StopMatcher(std::move(config));
}

StopMatcher::StopMatcher(StopConfig config) : config_(std::move(config)) {}

void StopMatcher::release_all(StopStep& step) {
  step.text += held_;
  held_.clear();
}

StopStep StopMatcher::on_token(int32_t token, std::string_view piece) {
  StopStep step;
  if (finished_) {
    step.finished = true;
    return step;
  }
  ++tokens_;
  const auto& stop_ids = config_.stop_token_ids;
  if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
    release_all(step);
    finished_ = step.finished = true;
    step.reason = FinishReason::kStop;
    step.matched_stop_token = token;
    return step;
  }

  held_.append(piece);
  // Any stop string occurrence starts inside held_ (earlier text had no partial match left), so
  // only held_ is searched. The earliest occurrence wins; among those starting at the same
  // place, the longest.
  size_t match_pos = std::string::npos;
  const std::string* match = nullptr;
  for (const std::string& stop : config_.stop_strings) {
    const size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    if (pos < match_pos || (pos == match_pos && stop.size() > match->size())) {
      match_pos = pos;
      match = &stop;
    }
  }
  if (match != nullptr) {
    step.text = held_.substr(0, match_pos);
    held_.clear();
    finished_ = step.finished = true;
    step.reason = FinishReason::kStop;
    step.matched_stop_string = *match;
    return step;
  }

  size_t hold = 0;
  for (const std::string& stop : config_.stop_strings) {
    hold = std::max(hold, partial_marker_suffix(held_, stop));
  }
  step.text = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);

  if (config_.max_tokens > 0 && tokens_ >= config_.max_tokens) {
    release_all(step);
    finished_ = step.finished = true;
    step.reason = FinishReason::kLength;
  }
  return step;
}

StopStep StopMatcher::flush() {
  StopStep step;
  release_all(step);
  step.finished = finished_;
  return step;
}

}  // namespace hearth
