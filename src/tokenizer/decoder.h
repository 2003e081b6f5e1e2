// Turns token spellings back into text, as tokenizer.json's "decoder" declares, written as a
// streaming state machine: full decoding is "push every token, then finish", and streaming
// emits the same text in pieces, so the two agree by construction.
//
// Supported chains (the ones real models use):
//   ByteLevel                                     GPT-2 / Llama 3 / Qwen / SmolLM2
//   [Replace | Metaspace | Strip]* [ByteFallback] [Fuse] [Strip]   SentencePiece-style
// and no decoder at all (tokens joined with spaces, as Hugging Face does).
//
// Output matches Hugging Face byte for byte, including U+FFFD for invalid UTF-8: byte-level text
// gets one U+FFFD per maximal invalid subpart (from_utf8_lossy); a run of <0xNN> byte tokens
// that is not valid UTF-8 as a whole becomes one U+FFFD per byte (ByteFallback). Text is only
// emitted once it is final, which for a run of byte tokens means when the run ends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hearth/status.h"

namespace hearth {

class Decoder {
 public:
  struct State {
    size_t tokens_seen = 0;
    std::string pending;         // byte-level: incomplete UTF-8; byte fallback: the byte run
    size_t strip_remaining = 0;  // leading characters the fused Strip may still drop
  };

  static Expected<Decoder> from_json(const nlohmann::json& spec);
  static Decoder byte_level();
  // Replace ▁ by a space, byte fallback, and (add_space_prefix) drop the first leading space.
  static Decoder sentencepiece(bool strip_leading_space);

  State start() const;
  // Appends whatever text becomes final with this token.
  void push(State& state, std::string_view spelling, std::string& out) const;
  // Appends what is still held (as U+FFFD where it is not valid UTF-8).
  void finish(State& state, std::string& out) const;
  // The bytes one token contributes in the middle of a text (may be part of a character).
  std::string piece(std::string_view spelling) const;

 private:
  struct TextOp {
    enum class Kind { kReplace, kMetaspace, kStrip };
    Kind kind = Kind::kReplace;
    std::string from;  // Replace pattern / Metaspace replacement / Strip content
    std::string to;
    bool drop_in_first = false;  // Metaspace: the first token loses its replacement characters
    size_t strip_start = 0;
    size_t strip_stop = 0;
  };

  Status add_from_json(const nlohmann::json& spec, int depth);
  std::string apply_text_ops(std::string_view spelling, bool first) const;
  void emit(State& state, std::string_view text, std::string& out) const;
  void flush_byte_run(State& state, std::string& out) const;

  bool byte_level_ = false;
  bool join_with_space_ = false;  // no decoder: Hugging Face joins tokens with " "
  std::vector<TextOp> text_ops_;
  bool byte_fallback_ = false;
  bool fused_ = false;
  std::string fused_strip_content_;
  size_t fused_strip_start_ = 0;
};

}  // namespace hearth
