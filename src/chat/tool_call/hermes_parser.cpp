#include "chat/tool_call/hermes_parser.h"

namespace hearth {
namespace {
constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";
}  // namespace

bool HermesParser::step(bool at_end) {
  switch (state_) {
    case State::kText: {
      const std::string_view markers[] = {kOpen};
      if (scan_to_marker(markers, at_end) < 0) return false;
      begin_block();
      consume(kOpen.size());
      reader_.reset();
      state_ = State::kObject;
      return true;
    }
    case State::kObject:
      switch (feed_json_call(reader_)) {
        case CallProgress::kNeedMore:
          return false;
        case CallProgress::kFailed:
          state_ = State::kText;
          return true;
        case CallProgress::kDone:
          state_ = State::kClose;
          return true;
      }
      return false;
    case State::kClose:
      switch (expect_literal(kClose, at_end)) {
        case LiteralMatch::kNeedMore:
          return false;
        case LiteralMatch::kMatched:
        case LiteralMatch::kMismatch:  // tolerated: the call itself was complete
          end_block();
          state_ = State::kText;
          return true;
      }
      return false;
  }
  return false;
}

}  // namespace hearth
