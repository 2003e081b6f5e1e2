#include "tokenizer/gguf_pre_tokenizers.h"

#include <array>

namespace hearth {
namespace {

// The split regexes of the model families, as their tokenizer.json files write them.
constexpr const char* kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4oSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class Family { kSplitThenBytes, kGpt2, kDigitsThenGpt2 };

struct Entry {
  const char* name;
  Family family;
  const char* split;  // kSplitThenBytes only
  bool ignore_merges = false;
};

constexpr std::array kEntries = {
    Entry{"llama3", Family::kSplitThenBytes, kLlama3Split, true},
    Entry{"llama-v3", Family::kSplitThenBytes, kLlama3Split, true},
    Entry{"llama-bpe", Family::kSplitThenBytes, kLlama3Split, true},
    Entry{"falcon3", Family::kSplitThenBytes, kLlama3Split},
    Entry{"smaug-bpe", Family::kSplitThenBytes, kLlama3Split},
    Entry{"dbrx", Family::kSplitThenBytes, kLlama3Split},
    Entry{"qwen2", Family::kSplitThenBytes, kQwen2Split},
    Entry{"deepseek-r1-qwen", Family::kSplitThenBytes, kQwen2Split},
    Entry{"gpt-4o", Family::kSplitThenBytes, kGpt4oSplit},
    Entry{"llama4", Family::kSplitThenBytes, kGpt4oSplit},
    Entry{"gpt2", Family::kGpt2, nullptr},
    Entry{"gpt-2", Family::kGpt2, nullptr},
    Entry{"default", Family::kGpt2, nullptr},
    Entry{"smollm", Family::kDigitsThenGpt2, nullptr},
    Entry{"starcoder", Family::kDigitsThenGpt2, nullptr},
    Entry{"refact", Family::kDigitsThenGpt2, nullptr},
};

}  // namespace

std::vector<std::string> gguf_pre_tokenizer_names() {
  std::vector<std::string> names;
  for (const Entry& e : kEntries) names.emplace_back(e.name);
  return names;
}

Expected<GgufPreTokenizer> gguf_pre_tokenizer(std::string_view pre_name) {
  for (const Entry& e : kEntries) {
    if (pre_name != e.name) continue;
    GgufPreTokenizer result;
    result.ignore_merges = e.ignore_merges;
    PreTokenizer& pre = result.pre_tokenizer;
    PreTokenizerStep bytes{.kind = PreTokenizerStep::Kind::kByteLevel};
    bytes.add_prefix_space = false;
    bytes.use_regex = e.family != Family::kSplitThenBytes;
    if (e.family == Family::kSplitThenBytes) {
      HEARTH_ASSIGN_OR_RETURN(Regex regex, Regex::compile(e.split));
      PreTokenizerStep split{.kind = PreTokenizerStep::Kind::kSplit};
      split.regex = std::make_shared<const Regex>(std::move(regex));
      split.behavior = SplitBehavior::kIsolated;
      HEARTH_RETURN_IF_ERROR(pre.add_step(std::move(split)));
    }
    if (e.family == Family::kDigitsThenGpt2) {
      PreTokenizerStep digits{.kind = PreTokenizerStep::Kind::kDigits};
      digits.individual_digits = true;
      HEARTH_RETURN_IF_ERROR(pre.add_step(std::move(digits)));
    }
    HEARTH_RETURN_IF_ERROR(pre.add_step(std::move(bytes)));
    return result;
  }
  std::string known;
  for (const Entry& e : kEntries) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return unsupported("GGUF tokenizer.ggml.pre '" + std::string(pre_name) +
                     "' is not supported (supported: " + known + ")");
}

}  // namespace hearth
