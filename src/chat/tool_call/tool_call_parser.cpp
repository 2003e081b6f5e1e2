#include "chat/tool_call/tool_call_parser.h"

#include <algorithm>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/text_match.h"

namespace hearth {

ToolCallParser::ToolCallParser(ToolCallParserOptions options) : options_(std::move(options)) {
  if (options_.id_seed) {
    id_state_ = *options_.id_seed;
  } else {
    std::random_device device;
    id_state_ = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
}

std::string ToolCallParser::new_call_id() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) {
    uint64_t z = (id_state_ += 0x9e3779b97f4a7c15ULL);  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    id += kAlphabet[z % kAlphabet.size()];
  }
  return id;
}

void ToolCallParser::feed(std::string_view piece, std::vector<MessageDelta>& out) {
  input_.append(piece);
  out_ = &out;
  out_base_ = out.size();
  run(false);
  input_.erase(0, pos_);
  pos_ = 0;
  out_ = nullptr;
}

void ToolCallParser::finish(std::vector<MessageDelta>& out) {
  out_ = &out;
  out_base_ = out.size();
  run(true);
  if (in_block_) {
    fail_block("the output ended inside a tool call");
    run(true);
  }
  if (!input().empty()) emit_text(input().size());  // a dialect left text: it is content
  if (!space_follows_call_ && !pending_space_.empty()) {
    message_.content += pending_space_;
    push({std::exchange(pending_space_, {}), std::nullopt});
  }
  input_.clear();
  pos_ = 0;
  out_ = nullptr;
}

void ToolCallParser::run(bool at_end) {
  while (step(at_end)) {
  }
}

void ToolCallParser::consume(size_t n) {
  if (in_block_) block_raw_.append(input().substr(0, n));
  pos_ += n;
}

void ToolCallParser::emit_text(size_t n) {
  emit_content(input().substr(0, n));
  pos_ += n;
}

int ToolCallParser::scan_to_marker(std::span<const std::string_view> markers, bool at_end) {
  const std::string_view in = input();
  size_t best = std::string_view::npos;
  int which = -1;
  for (size_t i = 0; i < markers.size(); ++i) {
    const size_t at = in.find(markers[i]);
    if (at < best) {
      best = at;
      which = static_cast<int>(i);
    }
  }
  if (which >= 0) {
    emit_text(best);
    return which;
  }
  size_t hold = 0;
  if (!at_end) {
    for (std::string_view marker : markers) {
      hold = std::max(hold, partial_marker_suffix(in, marker));
    }
  }
  emit_text(in.size() - hold);
  return -1;
}

int ToolCallParser::expect_one_of(std::span<const std::string_view> literals, bool at_end) {
  size_t space = 0;
  while (space < input().size() && is_ascii_space(input()[space])) ++space;
  consume(space);
  const std::string_view in = input();
  bool partial = false;
  for (size_t i = 0; i < literals.size(); ++i) {
    if (in.substr(0, literals[i].size()) == literals[i]) {
      consume(literals[i].size());
      return static_cast<int>(i);
    }
    partial |= literals[i].substr(0, in.size()) == in;
  }
  return partial && !at_end ? -2 : -1;
}

ToolCallParser::LiteralMatch ToolCallParser::expect_literal(std::string_view literal, bool at_end) {
  const std::string_view literals[] = {literal};
  const int r = expect_one_of(literals, at_end);
  return r == 0    ? LiteralMatch::kMatched
         : r == -2 ? LiteralMatch::kNeedMore
                   : LiteralMatch::kMismatch;
}

void ToolCallParser::push(MessageDelta delta) {
  if (out_->size() > out_base_) {
    MessageDelta& last = out_->back();
    if (!delta.tool_call && !last.tool_call) {
      last.content += delta.content;
      return;
    }
    if (delta.tool_call && last.tool_call && !delta.tool_call->is_header() &&
        last.tool_call->index == delta.tool_call->index && !last.tool_call->is_header()) {
      last.tool_call->arguments += delta.tool_call->arguments;
      return;
    }
  }
  out_->push_back(std::move(delta));
}

void ToolCallParser::emit_content(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (is_ascii_space(text[i])) {
      pending_space_ += text[i++];
      continue;
    }
    size_t j = i;
    while (j < text.size() && !is_ascii_space(text[j])) ++j;
    std::string chunk;
    // Whitespace after a call is dropped when no content came before the call.
    if (!(space_follows_call_ && !content_emitted_)) chunk = pending_space_;
    pending_space_.clear();
    chunk.append(text.substr(i, j - i));
    content_emitted_ = true;
    space_follows_call_ = false;
    message_.content += chunk;
    push({std::move(chunk), std::nullopt});
    i = j;
  }
}

void ToolCallParser::emit_call_delta(ToolCallDelta delta) {
  if (delta.is_header()) {
    pending_space_.clear();  // whitespace directly before a call is dropped
    message_.tool_calls.push_back({delta.id, delta.name, ""});
  } else {
    message_.tool_calls[static_cast<size_t>(delta.index)].arguments += delta.arguments;
  }
  push({"", std::move(delta)});
}

void ToolCallParser::mark_call_end() {
  space_follows_call_ = true;
}

void ToolCallParser::begin_block() {
  in_block_ = true;
  call_open_ = false;
  block_raw_.clear();
  held_.clear();
  block_first_index_ = next_index_;
  calls_ended_in_block_ = 0;
}

void ToolCallParser::commit_call(std::string name) {
  call_open_ = true;
  ToolCallDelta delta{next_index_++, new_call_id(), std::move(name), ""};
  if (options_.stream_arguments) {
    emit_call_delta(std::move(delta));
  } else {
    held_.push_back({"", std::move(delta)});
  }
}

void ToolCallParser::append_arguments(std::string_view fragment) {
  if (fragment.empty()) return;
  ToolCallDelta delta{next_index_ - 1, "", "", std::string(fragment)};
  if (options_.stream_arguments) {
    emit_call_delta(std::move(delta));
  } else {
    held_.push_back({"", std::move(delta)});
  }
}

void ToolCallParser::end_call() {
  call_open_ = false;
  ++calls_ended_in_block_;
  if (options_.stream_arguments) {
    mark_call_end();
    block_raw_.clear();  // what a failure would turn into content restarts after this call
  }
}

void ToolCallParser::end_block() {
  in_block_ = false;
  if (!options_.stream_arguments) {
    for (MessageDelta& delta : held_) emit_call_delta(std::move(*delta.tool_call));
    if (calls_ended_in_block_ > 0) mark_call_end();
  }
  held_.clear();
  block_raw_.clear();
}

void ToolCallParser::fail_block(std::string_view why) {
  in_block_ = false;
  if (options_.stream_arguments && call_open_) {
    spdlog::warn("{} tool call {}: {}; its arguments were already streamed and stay as sent",
                 name(), next_index_ - 1, why);
    mark_call_end();
  } else {
    spdlog::warn("{} tool call output is malformed ({}); returning it as text", name(), why);
    if (!options_.stream_arguments) next_index_ = block_first_index_;
    held_.clear();
    emit_content(block_raw_);
  }
  call_open_ = false;
  block_raw_.clear();
}

ToolCallParser::CallProgress ToolCallParser::feed_json_call(JsonCallReader& reader) {
  while (!input().empty()) {
    const JsonCallReader::Result r = reader.feed(input()[0]);
    if (r == JsonCallReader::Result::kError) {
      early_arguments_.clear();
      fail_block(reader.error());
      return CallProgress::kFailed;
    }
    consume(1);
    if (!call_open_ && reader.has_name()) {
      if (!tool_allowed(reader.name())) {
        early_arguments_.clear();
        fail_block("the model called \"" + reader.name() + "\", which is not among the tools");
        return CallProgress::kFailed;
      }
      commit_call(reader.name());
      append_arguments(std::exchange(early_arguments_, {}));
    }
    if (call_open_) {
      append_arguments(reader.take_arguments());
    } else {
      early_arguments_ += reader.take_arguments();
    }
    if (r == JsonCallReader::Result::kDone) {
      end_call();
      return CallProgress::kDone;
    }
  }
  return CallProgress::kNeedMore;
}

const ToolSpec* ToolCallParser::find_tool(std::string_view name) const {
  for (const ToolSpec& tool : options_.tools) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

bool ToolCallParser::tool_allowed(std::string_view name) const {
  return options_.tools.empty() || find_tool(name) != nullptr;
}

}  // namespace hearth
