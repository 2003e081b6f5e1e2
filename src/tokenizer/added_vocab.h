// Added tokens (special and not) and how they are cut out of the text before normalization and
// pre-tokenization, following Hugging Face tokenizers' AddedVocabulary: leftmost-longest match,
// tokens marked `normalized` matched against normalized text, and the single_word, lstrip and
// rstrip options. With parse_special off, special tokens are not matched (the text stays text),
// so user input cannot inject control tokens; non-special added tokens always match.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/function_ref.h"

namespace hearth {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// One piece of the input: either text to tokenize further or an added token's id.
struct AddedSplit {
  std::string_view text;  // the matched text (with stripped spaces) for tokens
  int32_t token_id = -1;  // -1 for plain text
  bool at_start = false;  // begins at offset 0 of the string that was split
};

class AddedVocab {
 public:
  // Adds a token; a later token with the same content replaces the earlier one.
  // `normalized_content` is the pattern for tokens matched after normalization.
  void add(AddedToken token, std::string normalized_content = {});
  // Builds the matchers; call after the last add().
  void finalize();

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool has_normalized_tokens() const { return normalized_matcher_.size() > 0; }

  // Splits `text` on tokens of the raw (normalized == false) or normalized set. Every byte of
  // `text` ends up in exactly one split except lstrip/rstrip whitespace, which joins the token.
  void split(std::string_view text, bool normalized_set, bool parse_special,
             FunctionRef<void(const AddedSplit&)> emit) const;

 private:
  // A byte trie over token contents for leftmost-longest matching.
  class Matcher {
   public:
    void insert(std::string_view pattern, int32_t token_index);
    size_t size() const { return patterns_; }
    // Longest pattern starting at text[pos]: its length, or 0; sets token_index.
    size_t longest_at(std::string_view text, size_t pos, int32_t& token_index) const;
    bool may_start(uint8_t byte) const { return root_[byte] >= 0; }

   private:
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
      int32_t token_index = -1;
    };
    std::array<int32_t, 256> root_ = make_empty_root();
    std::vector<Node> nodes_;
    size_t patterns_ = 0;
    static std::array<int32_t, 256> make_empty_root();
  };

  std::vector<AddedToken> tokens_;
  std::vector<std::string> normalized_contents_;
  Matcher raw_matcher_;
  Matcher normalized_matcher_;
};

}  // namespace hearth
