// The tokenizer pipeline, in Hugging Face's order: cut out added tokens, normalize, pre-tokenize,
// BPE-merge each piece, add the post-processor's special tokens. Byte-level BPE vocabularies and
// SentencePiece-style ones (scores turned into merge ranks, byte fallback, ▁ for spaces) both run
// here; the loaders (hf_tokenizer_loader.cpp, gguf_tokenizer_loader.cpp) configure it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

struct BpeTokenizerConfig {
  BpeModel model;
  AddedVocab added;  // finalized
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  SpecialTokenIds special;  // eog may list extra ids; EOS/EOT and known end tokens are added
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
  std::string chat_template;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // Checks that the parts fit together and that every id is inside the vocabulary.
  static Expected<std::unique_ptr<BpeTokenizer>> create(BpeTokenizerConfig config);

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const override;
  Decoder::State decode_start() const override { return decoder_.start(); }
  void decode_push(Decoder::State& state, int32_t id, bool skip_special,
                   std::string& out) const override;
  void decode_finish(Decoder::State& state, std::string& out) const override;

  int32_t vocab_size() const override { return static_cast<int32_t>(spellings_.size()); }
  std::string_view token_text(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token_text) const override;
  std::string token_to_piece(int32_t id) const override;
  bool is_special(int32_t id) const override;

  const BpeModel& model() const { return model_; }

 private:
  BpeTokenizer() = default;
  void encode_text(std::string_view text, bool at_origin, bool parse_special,
                   std::vector<int32_t>& out) const;
  void encode_pieces(std::string_view text, bool at_origin, std::vector<int32_t>& out) const;

  BpeModel model_;
  AddedVocab added_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<const std::string*> spellings_;  // id -> added token content or model spelling
  std::vector<uint8_t> special_flags_;
};

}  // namespace hearth
