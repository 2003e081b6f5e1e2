// Builds a tokenizer from Hugging Face files: tokenizer.json (model, added tokens, normalizer,
// pre-tokenizer, decoder, post-processor), tokenizer_config.json (special token names,
// add_bos_token / add_eos_token, chat_template) and generation_config.json (eos_token_id).
#pragma once

#include <memory>
#include <string_view>

#include "hearth/status.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

Expected<std::unique_ptr<Tokenizer>> load_hf_tokenizer(std::string_view tokenizer_json,
                                                       std::string_view tokenizer_config_json,
                                                       std::string_view generation_config_json);

}  // namespace hearth
