// Bodies of the non-OpenAI helper routes POST /tokenize and POST /detokenize (shaped like
// llama.cpp's server).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "server/openai/api_error.h"

namespace hearth::server {

struct TokenizeRequest {
  std::string content;
  bool add_special = false;   // BOS etc. as the tokenizer adds them
  bool parse_special = true;  // "<|im_start|>" in the text becomes the special token
  bool with_pieces = false;   // also return each token's text
};

struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};

ApiResult<TokenizeRequest> parse_tokenize_request(const nlohmann::ordered_json& body);
ApiResult<DetokenizeRequest> parse_detokenize_request(const nlohmann::ordered_json& body,
                                                      int64_t vocab_size);

}  // namespace hearth::server
