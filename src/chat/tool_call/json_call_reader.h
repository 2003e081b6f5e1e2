// Reads one tool call written as a JSON object, {"name": "...", "arguments": {...}}, a byte at a
// time, reporting the name as soon as its string is complete and the arguments object's text as
// it arrives, so a dialect can stream it. Key names are configurable (Llama writes
// "parameters"); keys may come in any order (Hermes 2 Pro writes arguments first).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/tool_call/json_scanner.h"

namespace hearth {

struct JsonCallKeys {
  std::vector<std::string> arguments = {"arguments", "parameters"};
  // Other keys allowed (their values are skipped). Empty with allow_other_keys = true: any.
  std::vector<std::string> ignored = {};
  bool allow_other_keys = true;
};

class JsonCallReader {
 public:
  enum class Result { kNeedMore, kDone, kError };

  explicit JsonCallReader(JsonCallKeys keys = {}) : keys_(std::move(keys)) {}

  // Leading whitespace before '{' is skipped.
  Result feed(char c);
  void reset();

  // The function name once its value is complete (has_name()), else empty.
  bool has_name() const { return has_name_; }
  const std::string& name() const { return name_; }
  // Arguments text received since the last take (raw JSON, possibly partial).
  std::string take_arguments() { return std::exchange(arguments_, {}); }
  bool arguments_seen() const { return arguments_seen_; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    kOpen,
    kKeyOrEnd,
    kKey,
    kColon,
    kValueStart,
    kValue,
    kCommaOrEnd,
    kDone,
    kError
  };
  enum class Slot { kName, kArguments, kSkip };

  Result fail(std::string why);
  Result key_complete();
  Result value_complete();

  JsonCallKeys keys_;
  State state_ = State::kOpen;
  Slot slot_ = Slot::kSkip;
  JsonScanner scanner_;
  std::string raw_;  // the current key or name value's JSON text
  std::string name_;
  std::string arguments_;  // not yet taken
  bool has_name_ = false;
  bool arguments_seen_ = false;
  bool first_key_ = true;
  std::string error_;
};

}  // namespace hearth
