// Base of the tool-call dialect parsers: turns streamed model text into content and OpenAI
// tool-call deltas.
//
// A dialect scans its input for the marker that opens a tool-call block (<tool_call>,
// [TOOL_CALLS], ...); text before it is content, and a possible partial marker at the end of the
// input is held back until it is known. Inside a block the dialect reports the calls it reads
// (commit_call / append_arguments / end_call) and ends the block well-formed or malformed.
//
// Malformed blocks (bad JSON, unknown function, truncated output) never lose text: when no call
// of the block had been sent yet, the block's raw text becomes content. In streaming mode
// (options.stream_arguments) a call is sent once its name is known, so an error discovered
// later in that call cannot be taken back: the call keeps the arguments already sent, the error
// is logged, and parsing resumes as text after the offending byte. With stream_arguments off,
// calls are held until their block ends, so a malformed block always becomes content. For
// well-formed output both modes give the same message.
//
// Whitespace between content and calls is dropped: content whitespace directly before a call,
// after the last call, and leading whitespace when content only starts after a call. Content of
// a message without calls is passed through exactly.
//
// The concatenated deltas depend only on the text, not on how it was split into pieces (tested
// for every split), and message() aggregates them. Input pieces are expected to be whole UTF-8
// sequences (the detokenizer guarantees it); outputs are cut only at ASCII bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/tool_call/json_call_reader.h"
#include "chat/tool_call/tool_call_types.h"

namespace hearth {

class ToolCallParser {
 public:
  virtual ~ToolCallParser() = default;
  ToolCallParser(const ToolCallParser&) = delete;
  ToolCallParser& operator=(const ToolCallParser&) = delete;

  // The dialect's registry name ("hermes", "qwen3_coder", ...).
  virtual std::string_view name() const = 0;

  // Appends the deltas that `piece` makes safe to emit.
  void feed(std::string_view piece, std::vector<MessageDelta>& out);
  // End of output: completes or fails an open block and releases held text.
  void finish(std::vector<MessageDelta>& out);
  // Everything emitted so far, aggregated.
  const ParsedMessage& message() const { return message_; }

 protected:
  explicit ToolCallParser(ToolCallParserOptions options);

  // Consume what can be decided from input(); return false when nothing more can be done until
  // more text arrives. At the end (at_end) the dialect must consume everything.
  virtual bool step(bool at_end) = 0;

  std::string_view input() const { return std::string_view(input_).substr(pos_); }
  // Drops n bytes of input (part of the current block's raw text when in a block).
  void consume(size_t n);
  // Emits n bytes of input as content.
  void emit_text(size_t n);

  // Outside blocks: emits content up to the first of `markers`, holding back a possible
  // partial marker at the end of the input (unless at_end). Returns the index of the marker
  // now at the start of input(), or -1 when no marker is there yet.
  int scan_to_marker(std::span<const std::string_view> markers, bool at_end);

  // Skips whitespace (consumed), then consumes `literal` if the input starts with it.
  // kNeedMore while the input is empty or a prefix of the literal (and not at_end); kMismatch
  // leaves the differing text in input().
  enum class LiteralMatch { kMatched, kMismatch, kNeedMore };
  LiteralMatch expect_literal(std::string_view literal, bool at_end);
  // Same choice among several literals: the index matched, -1 for mismatch, -2 for need-more.
  int expect_one_of(std::span<const std::string_view> literals, bool at_end);

  // Block lifecycle (see the class comment).
  void begin_block();
  void commit_call(std::string name);
  void append_arguments(std::string_view fragment);
  void end_call();
  void end_block();
  void fail_block(std::string_view why);
  bool in_block() const { return in_block_; }
  bool call_open() const { return call_open_; }

  // Feeds input() to a JSON call object reader: commits the call when its name is known (failing
  // the block for a function not offered), streams the arguments. kFailed has already failed the
  // block (the offending byte stays in input()); kDone has ended the call (not the block).
  enum class CallProgress { kNeedMore, kDone, kFailed };
  CallProgress feed_json_call(JsonCallReader& reader);

  // True when `name` may be called: listed in options.tools, or any name when none are listed.
  bool tool_allowed(std::string_view name) const;
  // The listed tool named `name`, or nullptr.
  const ToolSpec* find_tool(std::string_view name) const;

 private:
  void run(bool at_end);
  void emit_content(std::string_view text);
  void emit_call_delta(ToolCallDelta delta);
  void mark_call_end();
  void push(MessageDelta delta);
  std::string new_call_id();

  ToolCallParserOptions options_;
  uint64_t id_state_;    // splitmix64 state for call ids
  size_t out_base_ = 0;  // deltas before this index in *out_ belong to the caller
  std::string input_;
  size_t pos_ = 0;
  std::vector<MessageDelta>* out_ = nullptr;
  ParsedMessage message_;
  int32_t next_index_ = 0;

  // Whitespace handling around calls.
  std::string pending_space_;
  bool content_emitted_ = false;
  bool space_follows_call_ = false;

  // The open block.
  bool in_block_ = false;
  bool call_open_ = false;
  std::string block_raw_;           // raw text that becomes content if the block fails
  std::vector<MessageDelta> held_;  // deltas held until the block ends (non-streaming mode)
  int32_t block_first_index_ = 0;
  int32_t calls_ended_in_block_ = 0;
  std::string early_arguments_;  // arguments read before the name (held until the commit)
};

}  // namespace hearth
