#include "server/openai/response_common.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <random>

namespace hearth::server {

std::string random_id(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  std::lock_guard<std::mutex> lock(mutex);
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string dump_json(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

std::string finish_reason_name(FinishReason reason, bool made_tool_calls) {
  switch (reason) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kStop:
    case FinishReason::kNone:
    case FinishReason::kCancelled:
    case FinishReason::kError:
      break;
  }
  return made_tool_calls ? "tool_calls" : "stop";
}

namespace {

// JSON has no -inf; OpenAI reports impossible tokens as -9999.
double finite_logprob(float value) {
  return std::isfinite(value) ? value : -9999.0;
}

nlohmann::ordered_json byte_list(std::string_view text) {
  nlohmann::ordered_json bytes = nlohmann::ordered_json::array();
  for (const char c : text) bytes.push_back(static_cast<unsigned char>(c));
  return bytes;
}

}  // namespace

nlohmann::ordered_json chat_logprob_json(const TokenLogprob& logprob,
                                         const TokenTextFn& token_text) {
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  for (const auto& [token, value] : logprob.top) {
    const std::string text = token_text(token);
    top.push_back(
        {{"token", text}, {"logprob", finite_logprob(value)}, {"bytes", byte_list(text)}});
  }
  return {{"token", logprob.piece},
          {"logprob", finite_logprob(logprob.logprob)},
          {"bytes", byte_list(logprob.piece)},
          {"top_logprobs", std::move(top)}};
}

}  // namespace hearth::server
