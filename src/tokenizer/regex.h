// Pre-tokenizer regexes on PCRE2 (UTF + Unicode properties, JIT-compiled when available).
// Patterns are written for Oniguruma, which Hugging Face tokenizers uses; the two engines differ
// on one point those patterns touch, so patterns are rewritten before compiling (see
// to_pcre2_pattern). Both fold case the same way for (?i:'s|'t|...): U+017F LONG S matches s.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/function_ref.h"
#include "hearth/status.h"

namespace hearth {

// Oniguruma pattern -> equivalent PCRE2 pattern: \s and \S outside classes, and \s inside
// classes, become explicit White_Space sets (PCRE2's Unicode \s also matches U+180E MONGOLIAN
// VOWEL SEPARATOR, Oniguruma's does not). \S inside a class is left to PCRE2.
std::string to_pcre2_pattern(std::string_view onig_pattern);

class Regex {
 public:
  // Compiles an Oniguruma-style pattern; the error names the pattern and PCRE2's reason.
  static Expected<Regex> compile(std::string_view pattern);

  // Calls on_match(begin, end) for each leftmost-first, non-overlapping match in `text`, which
  // must be valid UTF-8. After an empty match the search resumes one code point later.
  void for_each_match(std::string_view text, FunctionRef<void(size_t, size_t)> on_match) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

}  // namespace hearth
