// The pre-tokenizer a GGUF byte-level vocabulary declares by name in tokenizer.ggml.pre (the
// names llama.cpp's converter writes), as the tokenizer.json structure those models publish:
// a Split on the model's regex followed by ByteLevel, or ByteLevel's own GPT-2 split.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "tokenizer/pre_tokenizer.h"

namespace hearth {

struct GgufPreTokenizer {
  PreTokenizer pre_tokenizer;
  // Llama 3's BPE emits a piece that is itself a token without merging (ignore_merges).
  bool ignore_merges = false;
};

// An unknown name is an error that names it and lists the known ones.
Expected<GgufPreTokenizer> gguf_pre_tokenizer(std::string_view pre_name);

// Every name gguf_pre_tokenizer() accepts.
std::vector<std::string> gguf_pre_tokenizer_names();

}  // namespace hearth
