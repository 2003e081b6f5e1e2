#include "tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_util.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 '▁'

// The byte of a "<0xNN>" token (the exact form Hugging Face's ByteFallback recognises).
int byte_token_value(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  std::string_view digits = s.substr(3, 2);
  if (digits[0] == '+') digits.remove_prefix(1);  // Rust's from_str_radix accepts a sign
  int value = 0;
  for (char c : digits) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos)).append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

// Drops up to `start` leading and `stop` trailing copies of `content` (one code point).
std::string strip_chars(std::string_view text, std::string_view content, size_t start,
                        size_t stop) {
  size_t begin = 0;
  size_t end = text.size();
  for (size_t i = 0; i < start && text.substr(begin, content.size()) == content; ++i) {
    begin += content.size();
  }
  for (size_t i = 0; i < stop && end >= begin + content.size() &&
                     text.substr(end - content.size(), content.size()) == content;
       ++i) {
    end -= content.size();
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

Decoder Decoder::byte_level() {
  Decoder d;
  d.byte_level_ = true;
  return d;
}

Decoder Decoder::sentencepiece(bool strip_leading_space) {
  Decoder d;
  d.text_ops_.push_back({TextOp::Kind::kReplace, std::string(kMetaspace), " "});
  d.byte_fallback_ = true;
  d.fused_ = true;
  if (strip_leading_space) {
    d.fused_strip_content_.assign(1, ' ');
    d.fused_strip_start_ = 1;
  }
  return d;
}

Expected<Decoder> Decoder::from_json(const nlohmann::json& spec) {
  Decoder d;
  if (spec.is_null()) {
    d.join_with_space_ = true;
    return d;
  }
  HEARTH_RETURN_IF_ERROR(d.add_from_json(spec, 0));
  return d;
}

Status Decoder::add_from_json(const nlohmann::json& spec, int depth) {
  if (depth > 8) return unsupported("decoder Sequence nested deeper than 8 levels");
  const Expected<std::string> type_field = json_string(spec, "type", "decoder");
  if (!type_field.ok()) return type_field.status();
  const std::string& type = *type_field;
  auto out_of_order = [&] {
    return unsupported("decoder '" + type +
                       "' in this position is not supported (supported chains: ByteLevel, or "
                       "[Replace|Metaspace|Strip]* [ByteFallback] [Fuse] [Strip])");
  };
  if (type == "Sequence") {
    HEARTH_ASSIGN_OR_RETURN(const nlohmann::json* list,
                            json_array(spec, "decoders", "decoder Sequence"));
    for (const auto& item : *list) HEARTH_RETURN_IF_ERROR(add_from_json(item, depth + 1));
    return {};
  }
  if (byte_level_) return out_of_order();
  if (type == "ByteLevel") {
    if (!text_ops_.empty() || byte_fallback_ || fused_) return out_of_order();
    byte_level_ = true;
    return {};
  }
  if (type == "Fuse") {
    fused_ = true;  // concatenation is what we do anyway; it matters for a following Strip
    return {};
  }
  if (type == "ByteFallback") {
    if (byte_fallback_ || fused_) return out_of_order();
    byte_fallback_ = true;
    return {};
  }
  if (type == "Strip") {
    TextOp op;
    op.kind = TextOp::Kind::kStrip;
    HEARTH_ASSIGN_OR_RETURN(op.from, json_char(spec, "content", "decoder Strip"));
    HEARTH_ASSIGN_OR_RETURN(const int64_t start, json_int(spec, "start", 0, "decoder Strip"));
    HEARTH_ASSIGN_OR_RETURN(const int64_t stop, json_int(spec, "stop", 0, "decoder Strip"));
    if (start < 0 || stop < 0) return invalid_argument("decoder Strip start/stop is negative");
    if (fused_) {
      // On the whole text: only leading characters can be handled while streaming.
      if (stop != 0 || !fused_strip_content_.empty()) return out_of_order();
      fused_strip_content_ = op.from;
      fused_strip_start_ = static_cast<size_t>(start);
      return {};
    }
    if (byte_fallback_) return out_of_order();
    op.strip_start = static_cast<size_t>(start);
    op.strip_stop = static_cast<size_t>(stop);
    text_ops_.push_back(std::move(op));
    return {};
  }
  if (byte_fallback_ || fused_) return out_of_order();
  if (type == "Replace") {
    HEARTH_ASSIGN_OR_RETURN(PatternSpec pattern, json_pattern(spec, "decoder Replace"));
    if (pattern.is_regex) return unsupported("decoder Replace with a Regex pattern");
    if (pattern.text.empty()) return unsupported("decoder Replace with an empty pattern");
    TextOp op;
    op.kind = TextOp::Kind::kReplace;
    op.from = std::move(pattern.text);
    HEARTH_ASSIGN_OR_RETURN(op.to, json_string(spec, "content", "decoder Replace"));
    text_ops_.push_back(std::move(op));
    return {};
  }
  if (type == "Metaspace") {
    TextOp op;
    op.kind = TextOp::Kind::kMetaspace;
    HEARTH_ASSIGN_OR_RETURN(op.from, json_char(spec, "replacement", "decoder Metaspace"));
    op.to.assign(1, ' ');
    HEARTH_ASSIGN_OR_RETURN(const bool add_prefix,
                            json_bool(spec, "add_prefix_space", true, "decoder Metaspace"));
    op.drop_in_first = add_prefix;
    if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
      HEARTH_ASSIGN_OR_RETURN(const std::string scheme,
                              json_string(spec, "prepend_scheme", "decoder Metaspace"));
      op.drop_in_first = scheme != "never";
    }
    text_ops_.push_back(std::move(op));
    return {};
  }
  return unsupported("tokenizer.json decoder type '" + type +
                     "' is not supported (supported: ByteLevel, Replace, Metaspace, Strip, "
                     "ByteFallback, Fuse, Sequence)");
}

Decoder::State Decoder::start() const {
  State s;
  s.strip_remaining = fused_strip_start_;
  return s;
}

std::string Decoder::apply_text_ops(std::string_view spelling, bool first) const {
  std::string text(spelling);
  for (const TextOp& op : text_ops_) {
    switch (op.kind) {
      case TextOp::Kind::kReplace:
        if (text.find(op.from) != std::string::npos) text = replace_all(text, op.from, op.to);
        break;
      case TextOp::Kind::kMetaspace:
        text = replace_all(text, op.from, first && op.drop_in_first ? "" : op.to);
        break;
      case TextOp::Kind::kStrip:
        text = strip_chars(text, op.from, op.strip_start, op.strip_stop);
        break;
    }
  }
  return text;
}

void Decoder::emit(State& state, std::string_view text, std::string& out) const {
  // A Strip after Fuse drops leading characters of the whole text.
  while (state.strip_remaining > 0 && !text.empty() &&
         text.substr(0, fused_strip_content_.size()) == fused_strip_content_) {
    text.remove_prefix(fused_strip_content_.size());
    --state.strip_remaining;
  }
  if (!text.empty()) state.strip_remaining = 0;
  out.append(text);
}

void Decoder::flush_byte_run(State& state, std::string& out) const {
  if (state.pending.empty()) return;
  if (utf8::find_invalid(state.pending)) {
    std::string replaced;
    for (size_t i = 0; i < state.pending.size(); ++i) replaced.append(utf8::kReplacementChar);
    emit(state, replaced, out);
  } else {
    emit(state, state.pending, out);
  }
  state.pending.clear();
}

void Decoder::push(State& state, std::string_view spelling, std::string& out) const {
  const bool first = state.tokens_seen == 0;
  ++state.tokens_seen;
  if (byte_level_) {
    if (auto raw = byte_level::decode_token(spelling)) {
      state.pending.append(*raw);
    } else {
      state.pending.append(spelling);  // not in the alphabet: its UTF-8 bytes, as HF does
    }
    std::string text;
    const size_t used = utf8::append_lossy(state.pending, /*final=*/false, text);
    state.pending.erase(0, used);
    emit(state, text, out);
    return;
  }
  if (join_with_space_) {
    if (!first) emit(state, " ", out);
    emit(state, utf8::sanitize(spelling), out);
    return;
  }
  std::string text = apply_text_ops(spelling, first);
  if (byte_fallback_) {
    const int byte = byte_token_value(text);
    if (byte >= 0) {
      state.pending.push_back(static_cast<char>(byte));
      return;
    }
    flush_byte_run(state, out);
  }
  emit(state, utf8::find_invalid(text) ? utf8::sanitize(text) : text, out);
}

void Decoder::finish(State& state, std::string& out) const {
  if (byte_level_) {
    std::string text;
    utf8::append_lossy(state.pending, /*final=*/true, text);
    state.pending.clear();
    emit(state, text, out);
    return;
  }
  flush_byte_run(state, out);
}

std::string Decoder::piece(std::string_view spelling) const {
  if (byte_level_) {
    if (auto raw = byte_level::decode_token(spelling)) return *raw;
    return std::string(spelling);
  }
  if (join_with_space_) return std::string(spelling);
  std::string text = apply_text_ops(spelling, /*first=*/false);
  if (byte_fallback_) {
    const int byte = byte_token_value(text);
    if (byte >= 0) return std::string(1, static_cast<char>(byte));
  }
  return text;
}

}  // namespace hearth
