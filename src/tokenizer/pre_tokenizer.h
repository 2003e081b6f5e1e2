// Pre-tokenizers as declared in tokenizer.json ("pre_tokenizer"): they cut normalized text into
// the pieces that BPE merges within. Supported: Split (string or regex pattern, every behavior,
// invert), ByteLevel (add_prefix_space, use_regex; must be last), Digits, Metaspace, Sequence.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hearth/status.h"
#include "tokenizer/regex.h"

namespace hearth {

// How a Split keeps the pieces its pattern matches (Hugging Face SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
enum class PrependScheme { kAlways, kFirst, kNever };

struct PreTokenizerStep {
  enum class Kind { kSplit, kDigits, kMetaspace, kByteLevel };
  Kind kind = Kind::kSplit;
  // Split
  std::shared_ptr<const Regex> regex;  // null for a literal pattern
  std::string literal;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  // Digits
  bool individual_digits = false;
  // Metaspace
  std::string replacement = "\xE2\x96\x81";  // U+2581 '▁'
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
  // ByteLevel
  bool add_prefix_space = false;
  bool use_regex = true;
};

// One piece of text on its way to the model. `at_origin`: it starts at offset 0 of the input
// (Metaspace's "first" prepend scheme looks at this).
struct PreToken {
  std::string_view text;
  bool at_origin = false;
};

// Storage for text the steps create (prefixes, replacements); views into it stay valid as long
// as the arena lives.
using PreTokenArena = std::deque<std::string>;

class PreTokenizer {
 public:
  static Expected<PreTokenizer> from_json(const nlohmann::json& spec);
  // The GPT-2 split used by ByteLevel with use_regex (and by GGUF "gpt2" vocabularies).
  static const char* gpt2_pattern();

  Status add_step(PreTokenizerStep step);
  bool empty() const { return steps_.empty(); }
  // Whether the last step is ByteLevel: the model then sees raw bytes.
  bool byte_level() const;

  // Cuts `text` into non-empty pieces appended to `out`.
  void run(std::string_view text, bool at_origin, std::vector<PreToken>& out,
           PreTokenArena& arena) const;

 private:
  Status add_from_json(const nlohmann::json& spec, int depth);
  std::vector<PreTokenizerStep> steps_;
};

}  // namespace hearth
