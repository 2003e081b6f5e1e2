// Merge ranks for a SentencePiece BPE vocabulary, which stores a score per token instead of a
// merge list. SentencePiece merges the adjacent pair whose joined piece scores highest; the same
// order written as ranked merges is what transformers derives (generate_merges), so the BPE
// engine reproduces Hugging Face's ids: every split of a token into two vocabulary tokens is a
// merge, ranked by the token's priority (highest first), then by a longer left part, a longer
// right part, and finally by token order and the parts' ids.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/bpe_model.h"

namespace hearth {

// `priority[id]` ranks the merges that produce `tokens[id]` (the score, or -id where token order
// is the merge order). Empty tokens are skipped; a repeated spelling takes its last id.
std::vector<BpeMerge> merges_from_priorities(const std::vector<std::string>& tokens,
                                             const std::vector<double>& priority);

}  // namespace hearth
