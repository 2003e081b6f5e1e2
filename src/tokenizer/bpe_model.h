// The BPE merge engine shared by byte-level vocabularies (GPT-2, Llama 3, Qwen, SmolLM2) and
// SentencePiece-style ones (Gemma, Llama 2), with Hugging Face's BPE semantics: a piece starts
// as characters (bytes for byte-level vocabularies), then the adjacent pair with the lowest merge
// rank is merged, leftmost first, until no pair has a merge. Characters missing from the vocab
// become <0xNN> byte tokens (byte_fallback) or the unknown token.
//
// Merging keeps the symbols in a linked list and candidate pairs in a binary heap, so a piece of
// n characters costs O(n log n); results for short pieces are cached across calls.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct BpeOptions {
  // Token spellings use GPT-2's byte alphabet and pieces are raw bytes.
  bool byte_level = false;
  // Characters missing from the vocab become <0xNN> tokens when all of their bytes have one.
  bool byte_fallback = false;
  // Consecutive unknown characters become one unknown token.
  bool fuse_unk = false;
  // A piece that is itself in the vocab is emitted whole, without merging (Llama 3).
  bool ignore_merges = false;
  int32_t unk_id = -1;
};

// A merge of the tokens `left` and `right` into `result`; rank is the position in the list.
struct BpeMerge {
  int32_t left;
  int32_t right;
  int32_t result;
};

class BpeModel {
 public:
  // `tokens[id]` is the spelling of id (empty strings are holes in the id space).
  // Merges are in priority order; a later duplicate of a pair replaces the earlier one.
  static Expected<BpeModel> build(std::vector<std::string> tokens,
                                  const std::vector<BpeMerge>& merges, const BpeOptions& options);
  // Merges given as pairs of spellings, as tokenizer.json and GGUF list them.
  static Expected<std::vector<BpeMerge>> resolve_merges(
      const std::vector<std::string>& tokens,
      const std::vector<std::pair<std::string, std::string>>& merges);

  BpeModel();
  ~BpeModel();
  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;

  // Appends the ids of one pre-token piece (raw bytes for byte-level vocabularies).
  void tokenize(std::string_view piece, std::vector<int32_t>& out) const;

  const BpeOptions& options() const { return options_; }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // The spelling as written in the vocabulary file ("Ġworld", "▁world", "<0x0A>").
  const std::string& spelling(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
  // The id whose spelling is `spelling`.
  std::optional<int32_t> find(std::string_view spelling) const;
  // The id of byte token <0xNN>, or -1.
  int32_t byte_token(uint8_t byte) const { return byte_tokens_[byte]; }

 private:
  struct Tables;
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;

  BpeOptions options_;
  std::vector<std::string> tokens_;
  std::array<int32_t, 256> byte_tokens_{};   // <0xNN> ids (byte fallback)
  std::array<int32_t, 256> byte_symbols_{};  // byte-level: id of each single byte
  std::vector<int32_t> bmp_symbols_;         // text vocabularies: id of each BMP code point
  std::unique_ptr<Tables> tables_;
};

}  // namespace hearth
