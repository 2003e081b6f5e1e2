#include "tokenizer/gguf_tokenizer_loader.h"

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/gguf_pre_tokenizers.h"
#include "tokenizer/sentencepiece_merges.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum GgufTokenType : int64_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

constexpr size_t kMaxVocab = size_t{1} << 24;
constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 '▁'

struct GgufVocab {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;  // kNormal when the file has no token_type
};

Expected<GgufVocab> read_vocab(const GgufFile& file) {
  GgufVocab vocab;
  HEARTH_ASSIGN_OR_RETURN(const GgufArray* tokens, file.get_array("tokenizer.ggml.tokens"));
  if (tokens->elem_type != GgufType::kString) {
    return invalid_argument("tokenizer.ggml.tokens must be an array of strings, not of " +
                            std::string(gguf_type_name(tokens->elem_type)));
  }
  if (tokens->strings.empty() || tokens->strings.size() > kMaxVocab) {
    return invalid_argument("tokenizer.ggml.tokens has " + std::to_string(tokens->strings.size()) +
                            " tokens; expected 1.." + std::to_string(kMaxVocab));
  }
  vocab.tokens = tokens->strings;
  vocab.types.assign(vocab.tokens.size(), kNormal);
  if (file.find("tokenizer.ggml.token_type") != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(const GgufArray* types, file.get_array("tokenizer.ggml.token_type"));
    if (!gguf_type_is_integer(types->elem_type) || types->ints.size() != vocab.tokens.size()) {
      return invalid_argument("tokenizer.ggml.token_type must be " +
                              std::to_string(vocab.tokens.size()) + " integers, one per token");
    }
    vocab.types = types->ints;
  }
  return vocab;
}

// An optional token id: -1 when absent or negative; an error when outside the vocabulary.
Expected<int32_t> read_token_id(const GgufFile& file, std::string_view key, size_t n) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) return -1;
  const auto id = v->as_int();
  if (!id) return invalid_argument(std::string(key) + " must be an integer");
  if (*id < 0) return -1;
  if (static_cast<uint64_t>(*id) >= n) {
    return invalid_argument(std::string(key) + " = " + std::to_string(*id) +
                            " is outside the vocabulary of " + std::to_string(n) + " tokens");
  }
  return static_cast<int32_t>(*id);
}

Expected<bool> read_flag(const GgufFile& file, std::string_view key, bool fallback) {
  if (file.find(key) == nullptr) return fallback;
  return file.get_bool(key);
}

// "a b" merges as GGUF lists them, or an empty list when the file has none.
Expected<std::vector<std::pair<std::string, std::string>>> read_merges(const GgufFile& file) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (file.find("tokenizer.ggml.merges") == nullptr) return pairs;
  HEARTH_ASSIGN_OR_RETURN(const GgufArray* merges, file.get_array("tokenizer.ggml.merges"));
  if (merges->elem_type != GgufType::kString) {
    return invalid_argument("tokenizer.ggml.merges must be an array of strings");
  }
  pairs.reserve(merges->strings.size());
  for (size_t i = 0; i < merges->strings.size(); ++i) {
    const std::string& s = merges->strings[i];
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
      return invalid_argument("tokenizer.ggml.merges[" + std::to_string(i) + "] ('" + s +
                              "') is not two tokens separated by one space");
    }
    pairs.emplace_back(s.substr(0, space), s.substr(space + 1));
  }
  return pairs;
}

bool in_byte_alphabet(std::string_view token) {
  return byte_level::decode_token(token).has_value();
}

// Python's str.isspace(), which transformers uses to find Gemma's whitespace tokens.
bool python_isspace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Gemma files store its runs of spaces ("  ") with real spaces, while its pieces spell a space
// as ▁; transformers re-spells them so the runs take part in merges like the rest.
std::string respell_gemma_spaces(const std::string& token) {
  if (token.find(' ') == std::string::npos || utf8::find_invalid(token)) return token;
  size_t pos = 0;
  size_t count = 0;
  while (pos < token.size()) {
    if (!python_isspace(utf8::decode_at(token, pos))) return token;
    ++count;
  }
  std::string out;
  for (size_t i = 0; i < count; ++i) out.append(kMetaspace);
  return out;
}

// CONTROL tokens become special added tokens, USER_DEFINED ones (still spelled as in the vocab)
// plain added tokens; both are matched whole in the raw text.
void add_typed_tokens(const GgufVocab& vocab, const std::vector<std::string>& spelled,
                      bool byte_level, AddedVocab& added) {
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string& token = vocab.tokens[i];
    AddedToken t;
    t.id = static_cast<int32_t>(i);
    t.content = token;
    t.normalized = false;
    if (vocab.types[i] == kControl) {
      if (byte_level && !in_byte_alphabet(token)) continue;  // a mislabelled byte sequence
      t.special = true;
    } else if (vocab.types[i] == kUserDefined) {
      if (spelled[i] != token) continue;
    } else {
      continue;
    }
    added.add(std::move(t));
  }
  added.finalize();
}

Status configure_byte_level(const GgufFile& file, const GgufVocab& vocab,
                            BpeTokenizerConfig& parts) {
  std::vector<std::string> spelled(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string& token = vocab.tokens[i];
    spelled[i] = in_byte_alphabet(token) ? token : byte_level::encode_bytes(token);
  }
  HEARTH_ASSIGN_OR_RETURN(auto pairs, read_merges(file));
  if (pairs.empty()) return invalid_argument("a gpt2 tokenizer needs tokenizer.ggml.merges");
  HEARTH_ASSIGN_OR_RETURN(std::vector<BpeMerge> merges, BpeModel::resolve_merges(spelled, pairs));

  std::string pre_name = "default";
  if (file.find("tokenizer.ggml.pre") != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(pre_name, file.get_string("tokenizer.ggml.pre"));
  }
  HEARTH_ASSIGN_OR_RETURN(GgufPreTokenizer pre, gguf_pre_tokenizer(pre_name));
  parts.pre_tokenizer = std::move(pre.pre_tokenizer);

  BpeOptions options;
  options.byte_level = true;
  options.ignore_merges = pre.ignore_merges;
  add_typed_tokens(vocab, spelled, /*byte_level=*/true, parts.added);
  HEARTH_ASSIGN_OR_RETURN(parts.model, BpeModel::build(std::move(spelled), merges, options));
  parts.decoder = Decoder::byte_level();
  return {};
}

Status configure_sentencepiece(const GgufFile& file, const GgufVocab& vocab, int32_t unk_id,
                               BpeTokenizerConfig& parts) {
  std::string arch;
  if (auto a = file.architecture(); a.ok()) arch = *a;
  // Gemma's scores do not follow its merge order; the order of its tokens does.
  const bool gemma = arch == "gemma" || arch == "gemma2" || arch == "gemma3";

  std::vector<std::string> spelled = vocab.tokens;
  std::vector<double> priority(vocab.tokens.size());
  if (gemma) {
    for (size_t i = 0; i < spelled.size(); ++i) {
      spelled[i] = respell_gemma_spaces(spelled[i]);
      priority[i] = -static_cast<double>(i);
    }
  }
  HEARTH_ASSIGN_OR_RETURN(auto pairs, read_merges(file));
  std::vector<BpeMerge> merges;
  if (!pairs.empty()) {
    HEARTH_ASSIGN_OR_RETURN(merges, BpeModel::resolve_merges(spelled, pairs));
  } else {
    if (!gemma) {
      HEARTH_ASSIGN_OR_RETURN(const GgufArray* scores, file.get_array("tokenizer.ggml.scores"));
      if (scores->floats.size() != vocab.tokens.size()) {
        return invalid_argument("tokenizer.ggml.scores must be " +
                                std::to_string(vocab.tokens.size()) + " floats, one per token");
      }
      priority = scores->floats;
    }
    merges = merges_from_priorities(spelled, priority);
  }

  HEARTH_ASSIGN_OR_RETURN(const bool add_space_prefix,
                          read_flag(file, "tokenizer.ggml.add_space_prefix", true));
  PreTokenizerStep metaspace{.kind = PreTokenizerStep::Kind::kMetaspace};
  metaspace.prepend_scheme = add_space_prefix ? PrependScheme::kFirst : PrependScheme::kNever;
  metaspace.split = false;
  HEARTH_RETURN_IF_ERROR(parts.pre_tokenizer.add_step(std::move(metaspace)));

  BpeOptions options;
  options.byte_fallback = true;
  options.fuse_unk = true;
  options.unk_id = unk_id;
  add_typed_tokens(vocab, spelled, /*byte_level=*/false, parts.added);
  HEARTH_ASSIGN_OR_RETURN(parts.model, BpeModel::build(std::move(spelled), merges, options));
  parts.decoder = Decoder::sentencepiece(/*strip_leading_space=*/add_space_prefix);
  return {};
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> load_gguf_tokenizer(const GgufFile& file) {
  if (file.find("tokenizer.ggml.model") == nullptr) {
    return not_found("the GGUF file has no tokenizer (tokenizer.ggml.model is missing)");
  }
  HEARTH_ASSIGN_OR_RETURN(const std::string model, file.get_string("tokenizer.ggml.model"));
  HEARTH_ASSIGN_OR_RETURN(const GgufVocab vocab, read_vocab(file));
  const size_t n = vocab.tokens.size();

  BpeTokenizerConfig parts;
  SpecialTokenIds& special = parts.special;
  HEARTH_ASSIGN_OR_RETURN(special.bos, read_token_id(file, "tokenizer.ggml.bos_token_id", n));
  HEARTH_ASSIGN_OR_RETURN(special.eos, read_token_id(file, "tokenizer.ggml.eos_token_id", n));
  HEARTH_ASSIGN_OR_RETURN(special.eot, read_token_id(file, "tokenizer.ggml.eot_token_id", n));
  HEARTH_ASSIGN_OR_RETURN(special.pad, read_token_id(file, "tokenizer.ggml.padding_token_id", n));
  HEARTH_ASSIGN_OR_RETURN(special.unk, read_token_id(file, "tokenizer.ggml.unknown_token_id", n));
  HEARTH_ASSIGN_OR_RETURN(const int32_t eom, read_token_id(file, "tokenizer.ggml.eom_token_id", n));
  if (eom >= 0) special.eog.push_back(eom);

  bool default_add_bos = false;
  if (model == "gpt2") {
    HEARTH_RETURN_IF_ERROR(configure_byte_level(file, vocab, parts));
  } else if (model == "llama") {
    HEARTH_RETURN_IF_ERROR(configure_sentencepiece(file, vocab, special.unk, parts));
    default_add_bos = true;  // what llama.cpp and transformers assume for these vocabularies
  } else {
    return unsupported("GGUF tokenizer.ggml.model '" + model +
                       "' is not supported (supported: gpt2, llama)");
  }
  HEARTH_ASSIGN_OR_RETURN(const bool add_bos,
                          read_flag(file, "tokenizer.ggml.add_bos_token", default_add_bos));
  HEARTH_ASSIGN_OR_RETURN(const bool add_eos,
                          read_flag(file, "tokenizer.ggml.add_eos_token", false));
  if (add_bos && special.bos >= 0) parts.prefix_ids.push_back(special.bos);
  if (add_eos && special.eos >= 0) parts.suffix_ids.push_back(special.eos);
  if (file.find("tokenizer.chat_template") != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(parts.chat_template, file.get_string("tokenizer.chat_template"));
  }
  auto tokenizer = BpeTokenizer::create(std::move(parts));
  if (!tokenizer.ok()) return tokenizer.status().with_context("GGUF tokenizer");
  return std::unique_ptr<Tokenizer>(std::move(tokenizer).value());
}

}  // namespace hearth
