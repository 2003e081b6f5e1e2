#include "server/openai/completion_request.h"

#include <fmt/core.h>

namespace hearth::server {

ApiResult<std::vector<int32_t>> read_token_ids(const nlohmann::ordered_json& value,
                                               const std::string& param, int64_t vocab_size) {
  if (!value.is_array()) {
    return invalid_request(
        param,
        fmt::format("'{}' must be an array of token ids, got {}", param, json_type_name(value)),
        "invalid_type");
  }
  std::vector<int32_t> tokens;
  tokens.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const auto& t = value[i];
    const bool in_range =
        t.is_number_integer() &&
        (t.is_number_unsigned() ? t.get<uint64_t>() < uint64_t(vocab_size)
                                : t.get<int64_t>() >= 0 && t.get<int64_t>() < vocab_size);
    if (!in_range) {
      return invalid_request(fmt::format("{}[{}]", param, i),
                             fmt::format("'{}[{}]' must be a token id in [0, {}), got {}", param, i,
                                         vocab_size, json_preview(t)),
                             t.is_number_integer() ? "invalid_value" : "invalid_type");
    }
    tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return tokens;
}

namespace {

void read_prompt(FieldReader& reader, const RequestLimits& limits, CompletionRequest& out) {
  const nlohmann::ordered_json* prompt = reader.value("prompt");
  if (!reader.ok()) return;
  if (!prompt) {
    reader.fail("prompt", "'prompt' is required", "missing_required_parameter");
    return;
  }
  const nlohmann::ordered_json* single = prompt;
  if (prompt->is_array() && !prompt->empty() && !(*prompt)[0].is_number()) {
    // A batch: [string] or [[int...]]. hearth runs one prompt per request.
    if (prompt->size() != 1) {
      reader.fail(
          "prompt",
          fmt::format("'prompt' holds {} prompts; send one prompt per request", prompt->size()),
          "unsupported_parameter");
      return;
    }
    single = &(*prompt)[0];
  }
  if (single->is_string()) {
    out.prompt_text = single->get<std::string>();
    if (out.prompt_text.empty()) reader.fail("prompt", "'prompt' must not be empty");
    return;
  }
  if (single->is_array()) {
    auto tokens = read_token_ids(*single, "prompt", limits.vocab_size);
    if (!tokens.ok()) return reader.fail(tokens.error());
    if (tokens->empty()) return reader.fail("prompt", "'prompt' must not be empty");
    out.prompt_tokens = std::move(*tokens);
    out.prompt_is_tokens = true;
    return;
  }
  reader.fail("prompt",
              "'prompt' must be a string, an array of token ids, or a one-element array of "
              "either; got " +
                  json_type_name(*prompt),
              "invalid_type");
}

}  // namespace

ApiResult<CompletionRequest> parse_completion_request(const nlohmann::ordered_json& body,
                                                      const RequestLimits& limits) {
  FieldReader reader(body, "");
  if (auto echo = reader.boolean("echo"); echo && *echo) {
    reader.fail("echo", "'echo': true is not supported", "unsupported_parameter");
  }
  if (auto best_of = reader.integer("best_of", 1, 1 << 30); best_of && *best_of != 1) {
    reader.fail("best_of", "'best_of' other than 1 is not supported", "unsupported_parameter");
  }
  if (auto suffix = reader.string("suffix", std::string::npos); suffix && !suffix->empty()) {
    reader.fail("suffix", "'suffix' (fill-in-the-middle) is not supported",
                "unsupported_parameter");
  }
  reader.reject_unknown({"model",
                         "prompt",
                         "max_tokens",
                         "temperature",
                         "top_p",
                         "top_k",
                         "min_p",
                         "presence_penalty",
                         "frequency_penalty",
                         "repetition_penalty",
                         "logit_bias",
                         "logprobs",
                         "stop",
                         "seed",
                         "n",
                         "stream",
                         "stream_options",
                         "user",
                         "echo",
                         "best_of",
                         "suffix",
                         "ignore_eos",
                         "skip_special_tokens"});
  CompletionRequest out;
  read_prompt(reader, limits, out);
  out.generation = read_generation_fields(reader, limits, {"max_tokens"});
  if (!out.generation.max_tokens) out.generation.max_tokens = kDefaultCompletionMaxTokens;
  if (auto v = reader.integer("logprobs", 0, kMaxCompletionLogprobs)) {
    out.generation.sampling.logprobs = true;
    out.generation.sampling.top_logprobs = static_cast<int32_t>(*v);
  }
  if (!reader.ok()) return reader.error();
  return out;
}

}  // namespace hearth::server
