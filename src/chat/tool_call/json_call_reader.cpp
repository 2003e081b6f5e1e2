#include "chat/tool_call/json_call_reader.h"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/text_match.h"

namespace hearth {
namespace {

// The decoded JSON string `raw` (with its quotes), or nullopt when it does not decode.
std::optional<std::string> decode_string(const std::string& raw) {
  try {
    const nlohmann::json value = nlohmann::json::parse(raw);
    if (!value.is_string()) return std::nullopt;
    return value.get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // e.g. a \u escape that is not valid UTF-16
  }
}

}  // namespace

void JsonCallReader::reset() {
  state_ = State::kOpen;
  slot_ = Slot::kSkip;
  scanner_.reset();
  raw_.clear();
  name_.clear();
  arguments_.clear();
  has_name_ = false;
  arguments_seen_ = false;
  first_key_ = true;
  error_.clear();
}

JsonCallReader::Result JsonCallReader::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  return Result::kError;
}

JsonCallReader::Result JsonCallReader::key_complete() {
  const auto key = decode_string(raw_);
  if (!key) return fail("a key is not a valid JSON string");
  const auto& args = keys_.arguments;
  if (*key == "name") {
    if (has_name_) return fail("\"name\" appears twice");
    slot_ = Slot::kName;
  } else if (std::find(args.begin(), args.end(), *key) != args.end()) {
    if (arguments_seen_) return fail("the arguments appear twice");
    slot_ = Slot::kArguments;
  } else if (keys_.allow_other_keys ||
             std::find(keys_.ignored.begin(), keys_.ignored.end(), *key) != keys_.ignored.end()) {
    slot_ = Slot::kSkip;
  } else {
    return fail("unexpected key \"" + *key + "\"");
  }
  raw_.clear();
  state_ = State::kColon;
  return Result::kNeedMore;
}

JsonCallReader::Result JsonCallReader::value_complete() {
  if (slot_ == Slot::kName) {
    const auto name = decode_string(raw_);
    if (!name || name->empty()) return fail("\"name\" is not a non-empty string");
    name_ = *name;
    has_name_ = true;
  }
  raw_.clear();
  state_ = State::kCommaOrEnd;
  return Result::kNeedMore;
}

JsonCallReader::Result JsonCallReader::feed(char c) {
  switch (state_) {
    case State::kOpen:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c != '{') return fail("a tool call must be a JSON object");
      state_ = State::kKeyOrEnd;
      return Result::kNeedMore;
    case State::kKeyOrEnd:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c == '}' && first_key_) return fail("the tool call object is empty");
      if (c != '"') return fail("expected a key");
      first_key_ = false;
      raw_.assign(1, '"');
      scanner_.reset();
      scanner_.feed('"');
      state_ = State::kKey;
      return Result::kNeedMore;
    case State::kKey: {
      raw_ += c;
      const JsonScanner::Result r = scanner_.feed(c);
      if (r == JsonScanner::Result::kError) return fail("a key is not a valid JSON string");
      if (r == JsonScanner::Result::kDone) return key_complete();
      return Result::kNeedMore;
    }
    case State::kColon:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c != ':') return fail("expected ':' after a key");
      state_ = State::kValueStart;
      return Result::kNeedMore;
    case State::kValueStart:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (slot_ == Slot::kName && c != '"') return fail("\"name\" is not a string");
      if (slot_ == Slot::kArguments) {
        if (c != '{') return fail("the arguments are not a JSON object");
        arguments_seen_ = true;
      }
      scanner_.reset();
      state_ = State::kValue;
      return feed(c);
    case State::kValue: {
      const JsonScanner::Result r = scanner_.feed(c);
      if (r == JsonScanner::Result::kError) return fail("invalid JSON in a value");
      if (r == JsonScanner::Result::kEndedBefore) {  // a number at the top of the value
        value_complete();
        return feed(c);
      }
      if (slot_ == Slot::kArguments) {
        arguments_ += c;
      } else if (slot_ == Slot::kName) {
        raw_ += c;
      }
      if (r == JsonScanner::Result::kDone) return value_complete();
      return Result::kNeedMore;
    }
    case State::kCommaOrEnd:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c == ',') {
        state_ = State::kKeyOrEnd;
        return Result::kNeedMore;
      }
      if (c != '}') return fail("expected ',' or '}' after a value");
      if (!has_name_) return fail("the tool call has no \"name\"");
      if (!arguments_seen_) {
        arguments_ += "{}";  // a call without arguments
        arguments_seen_ = true;
      }
      state_ = State::kDone;
      return Result::kDone;
    case State::kDone:
    case State::kError:
      return fail("input after the end of the tool call");
  }
  return fail("unreachable");
}

}  // namespace hearth
