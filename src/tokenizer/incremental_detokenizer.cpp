#include "tokenizer/incremental_detokenizer.h"

namespace hearth {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special), state_(tokenizer.decode_start()) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  std::string out;
  tokenizer_.decode_push(state_, id, skip_special_, out);
  return out;
}

std::string IncrementalDetokenizer::finish() {
  std::string out;
  tokenizer_.decode_finish(state_, out);
  return out;
}

}  // namespace hearth
