// Text <-> token ids for every model hearth loads, built from GGUF metadata (tokenizer.ggml.*) or
// from a Hugging Face tokenizer.json (+ tokenizer_config.json, generation_config.json), with ids
// identical to the Hugging Face `tokenizers` library.
//
// Invalid UTF-8 input is not an error: encode() replaces each maximal invalid subpart with U+FFFD
// first, exactly as Python's bytes.decode("utf-8", "replace") does before Hugging Face sees the
// text. API edges that would rather reject such input can check utf8::find_invalid() themselves.
// Loading is where errors happen: an unsupported model, normalizer, pre-tokenizer, decoder or
// GGUF pre-tokenizer type is reported by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "tokenizer/decoder.h"

namespace hearth {

class GgufFile;

struct EncodeOptions {
  // Add what the tokenizer's configuration puts around a text (BOS, EOS).
  bool add_special = true;
  // Match special tokens (<|im_start|>, <bos>, ...) written in the text. Off by default so user
  // text cannot inject control tokens; turn it on for rendered chat templates.
  bool parse_special = false;
};

// Ids with a role; -1 when the vocabulary has none.
struct SpecialTokenIds {
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t eot = -1;  // end of turn (<|im_end|>, <|eot_id|>, <end_of_turn>)
  int32_t pad = -1;
  int32_t unk = -1;
  std::vector<int32_t> eog;  // every id that ends generation (EOS, EOT, ...), sorted
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // From a GGUF file's tokenizer.ggml.* metadata (models "gpt2" and "llama").
  static Expected<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);
  // From a directory with tokenizer.json and optionally tokenizer_config.json and
  // generation_config.json.
  static Expected<std::unique_ptr<Tokenizer>> from_hf_dir(const std::string& dir);
  // From the contents of those files (empty strings for the optional ones).
  static Expected<std::unique_ptr<Tokenizer>> from_hf_json(
      std::string_view tokenizer_json, std::string_view tokenizer_config_json = {},
      std::string_view generation_config_json = {});

  virtual std::vector<int32_t> encode(std::string_view text,
                                      const EncodeOptions& options = {}) const = 0;
  // Text of `ids`; ids outside the vocabulary are skipped, as Hugging Face does.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // Streaming primitives behind decode() and IncrementalDetokenizer.
  virtual Decoder::State decode_start() const = 0;
  virtual void decode_push(Decoder::State& state, int32_t id, bool skip_special,
                           std::string& out) const = 0;
  virtual void decode_finish(Decoder::State& state, std::string& out) const = 0;

  // Ids run from 0 to vocab_size() - 1 (added tokens included).
  virtual int32_t vocab_size() const = 0;
  // The token as the vocabulary spells it ("Ġworld", "▁world", "<|im_end|>"); empty for ids
  // that name no token.
  virtual std::string_view token_text(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token_text) const = 0;
  // The bytes the token contributes in the middle of a text (possibly part of a character).
  virtual std::string token_to_piece(int32_t id) const = 0;
  // Special tokens: skipped by decode(skip_special) and only matched with parse_special.
  virtual bool is_special(int32_t id) const = 0;

  const SpecialTokenIds& special_ids() const { return special_; }
  int32_t bos_id() const { return special_.bos; }
  int32_t eos_id() const { return special_.eos; }
  int32_t eot_id() const { return special_.eot; }
  int32_t pad_id() const { return special_.pad; }
  bool is_eog(int32_t id) const;
  // Ids encode() puts before / after the text when add_special is set.
  const std::vector<int32_t>& prefix_ids() const { return prefix_ids_; }
  const std::vector<int32_t>& suffix_ids() const { return suffix_ids_; }
  bool add_bos() const { return !prefix_ids_.empty() && prefix_ids_.front() == special_.bos; }
  // The chat template shipped with the tokenizer (GGUF tokenizer.chat_template or
  // tokenizer_config.json chat_template); empty when there is none.
  const std::string& chat_template() const { return chat_template_; }

 protected:
  SpecialTokenIds special_;
  std::vector<int32_t> prefix_ids_;
  std::vector<int32_t> suffix_ids_;
  std::string chat_template_;
};

}  // namespace hearth
