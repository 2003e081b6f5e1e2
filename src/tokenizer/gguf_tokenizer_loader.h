// Builds a tokenizer from GGUF metadata (tokenizer.ggml.*), the way Hugging Face transformers
// converts a GGUF vocabulary to a tokenizer, so the ids match that reference:
//   model "gpt2":  byte-level BPE from tokens + merges; tokenizer.ggml.pre picks the split regex
//                  (see gguf_pre_tokenizers.h); CONTROL tokens are special added tokens.
//   model "llama": SentencePiece BPE; merge ranks come from the scores (Gemma: from token order),
//                  with byte fallback, ▁ for spaces and add_space_prefix; CONTROL tokens are
//                  special added tokens, USER_DEFINED ones plain added tokens.
#pragma once

#include <memory>

#include "formats/gguf/gguf_file.h"
#include "hearth/status.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

Expected<std::unique_ptr<Tokenizer>> load_gguf_tokenizer(const GgufFile& file);

}  // namespace hearth
