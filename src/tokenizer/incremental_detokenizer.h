// Streaming detokenization: feed generated ids one at a time and get back text as soon as it is
// final. Every returned piece is valid UTF-8 (a character split across tokens is held until its
// last byte arrives), and the concatenation of all pieces plus finish() equals
// Tokenizer::decode() of the same ids, whatever the ids are.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace hearth {

class IncrementalDetokenizer {
 public:
  // `tokenizer` must outlive this object.
  explicit IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special = false);

  // Text that became final with `id` (often empty while a character is incomplete).
  std::string push(int32_t id);
  // Whatever is still held, as decode() would render it at the end of the text.
  std::string finish();

  // Whether bytes are being held back (e.g. half of a multi-byte character).
  bool has_pending() const { return !state_.pending.empty(); }

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  Decoder::State state_;
};

}  // namespace hearth
