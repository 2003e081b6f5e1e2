#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace hearth {
namespace {

// Tokens that end a turn in the chat formats hearth knows; when the vocabulary has them as
// special tokens they end generation, as llama.cpp and the models' generation configs agree.
constexpr std::string_view kEndOfTurnTokens[] = {
    "<|im_end|>",    "<|eot_id|>",      "<end_of_turn>",         "<|end|>",    "<|eom_id|>",
    "<|endoftext|>", "<|end_of_text|>", "<|END_OF_TURN_TOKEN|>", "<|return|>",
};

const std::string kEmpty;

}  // namespace

Expected<std::unique_ptr<BpeTokenizer>> BpeTokenizer::create(BpeTokenizerConfig config) {
  if (config.pre_tokenizer.byte_level() != config.model.options().byte_level) {
    return unsupported(config.model.options().byte_level
                           ? "a byte-level vocabulary needs a ByteLevel pre-tokenizer as its last "
                             "step"
                           : "a ByteLevel pre-tokenizer needs a byte-level vocabulary");
  }
  std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
  tok->model_ = std::move(config.model);
  tok->added_ = std::move(config.added);
  tok->normalizer_ = std::move(config.normalizer);
  tok->pre_tokenizer_ = std::move(config.pre_tokenizer);
  tok->decoder_ = std::move(config.decoder);
  tok->chat_template_ = std::move(config.chat_template);

  int32_t size = tok->model_.size();
  for (const AddedToken& t : tok->added_.tokens()) {
    if (t.id < 0 || t.id >= (1 << 24)) {
      return invalid_argument("added token '" + t.content + "' has id " + std::to_string(t.id) +
                              ", outside 0..2^24");
    }
    size = std::max(size, t.id + 1);
  }
  tok->spellings_.assign(static_cast<size_t>(size), &kEmpty);
  tok->special_flags_.assign(static_cast<size_t>(size), 0);
  for (int32_t id = 0; id < tok->model_.size(); ++id) {
    tok->spellings_[static_cast<size_t>(id)] = &tok->model_.spelling(id);
  }
  for (const AddedToken& t : tok->added_.tokens()) {
    tok->spellings_[static_cast<size_t>(t.id)] = &t.content;
    tok->special_flags_[static_cast<size_t>(t.id)] = t.special ? 1 : 0;
  }

  auto check_id = [&](int32_t id, const char* what) -> Status {
    if (id < -1 || id >= size) {
      return invalid_argument(std::string(what) + " id " + std::to_string(id) +
                              " is outside the vocabulary of " + std::to_string(size));
    }
    return {};
  };
  SpecialTokenIds& special = config.special;
  HEARTH_RETURN_IF_ERROR(check_id(special.bos, "BOS"));
  HEARTH_RETURN_IF_ERROR(check_id(special.eos, "EOS"));
  HEARTH_RETURN_IF_ERROR(check_id(special.eot, "EOT"));
  HEARTH_RETURN_IF_ERROR(check_id(special.pad, "padding"));
  HEARTH_RETURN_IF_ERROR(check_id(special.unk, "unknown-token"));
  for (int32_t id : special.eog) HEARTH_RETURN_IF_ERROR(check_id(id, "end-of-generation"));
  for (int32_t id : config.prefix_ids) HEARTH_RETURN_IF_ERROR(check_id(id, "post-processor"));
  for (int32_t id : config.suffix_ids) HEARTH_RETURN_IF_ERROR(check_id(id, "post-processor"));

  for (std::string_view name : kEndOfTurnTokens) {
    const auto id = tok->token_to_id(name);
    if (!id || !tok->is_special(*id)) continue;
    if (special.eot < 0 && name != "<|endoftext|>" && name != "<|end_of_text|>") special.eot = *id;
    special.eog.push_back(*id);
  }
  if (special.eos >= 0) special.eog.push_back(special.eos);
  if (special.eot >= 0) special.eog.push_back(special.eot);
  std::sort(special.eog.begin(), special.eog.end());
  special.eog.erase(std::unique(special.eog.begin(), special.eog.end()), special.eog.end());
  special.eog.erase(std::remove(special.eog.begin(), special.eog.end(), -1), special.eog.end());
  tok->special_ = std::move(special);
  tok->prefix_ids_ = std::move(config.prefix_ids);
  tok->suffix_ids_ = std::move(config.suffix_ids);
  return tok;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text,
                                          const EncodeOptions& options) const {
  std::string sanitized;
  if (utf8::find_invalid(text)) {
    sanitized = utf8::sanitize(text);
    text = sanitized;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  if (options.add_special) out.insert(out.end(), prefix_ids_.begin(), prefix_ids_.end());
  added_.split(text, /*normalized_set=*/false, options.parse_special, [&](const AddedSplit& s) {
    if (s.token_id >= 0) {
      out.push_back(s.token_id);
    } else {
      encode_text(s.text, s.at_start, options.parse_special, out);
    }
  });
  if (options.add_special) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

void BpeTokenizer::encode_text(std::string_view text, bool at_origin, bool parse_special,
                               std::vector<int32_t>& out) const {
  std::string normalized;
  if (normalizer_.apply(text, normalized)) text = normalized;
  if (!added_.has_normalized_tokens()) {
    encode_pieces(text, at_origin, out);
    return;
  }
  added_.split(text, /*normalized_set=*/true, parse_special, [&](const AddedSplit& s) {
    if (s.token_id >= 0) {
      out.push_back(s.token_id);
    } else {
      encode_pieces(s.text, at_origin && s.at_start, out);
    }
  });
}

void BpeTokenizer::encode_pieces(std::string_view text, bool at_origin,
                                 std::vector<int32_t>& out) const {
  PreTokenArena arena;
  std::vector<PreToken> pieces;
  pre_tokenizer_.run(text, at_origin, pieces, arena);
  for (const PreToken& piece : pieces) model_.tokenize(piece.text, out);
}

void BpeTokenizer::decode_push(Decoder::State& state, int32_t id, bool skip_special,
                               std::string& out) const {
  if (id < 0 || id >= vocab_size()) return;
  const std::string& spelling = *spellings_[static_cast<size_t>(id)];
  if (spelling.empty()) return;
  if (skip_special && special_flags_[static_cast<size_t>(id)] != 0) return;
  decoder_.push(state, spelling, out);
}

void BpeTokenizer::decode_finish(Decoder::State& state, std::string& out) const {
  decoder_.finish(state, out);
}

std::string_view BpeTokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return *spellings_[static_cast<size_t>(id)];
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token_text) const {
  for (const AddedToken& t : added_.tokens()) {
    if (t.content == token_text) return t.id;
  }
  return model_.find(token_text);
}

std::string BpeTokenizer::token_to_piece(int32_t id) const {
  const std::string_view spelling = token_text(id);
  if (spelling.empty()) return {};
  return decoder_.piece(spelling);
}

bool BpeTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && special_flags_[static_cast<size_t>(id)] != 0;
}

}  // namespace hearth
