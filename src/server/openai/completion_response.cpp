#include "server/openai/completion_response.h"

#include <cmath>
#include <utility>

namespace hearth::server {

CompletionChoiceBuilder::CompletionChoiceBuilder(ResponseMeta meta, CompletionChoiceOptions options,
                                                 TokenTextFn token_text)
    : meta_(std::move(meta)), options_(options), token_text_(std::move(token_text)) {}

nlohmann::ordered_json CompletionChoiceBuilder::LegacyLogprobs::to_json() const {
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", text_offset}};
}

void CompletionChoiceBuilder::append_logprobs(const GenerationEvent& event, LegacyLogprobs& into) {
  for (const auto& lp : event.logprobs) {
    into.tokens.push_back(lp.piece);
    into.token_logprobs.push_back(std::isfinite(lp.logprob) ? lp.logprob : -9999.0);
    nlohmann::ordered_json top = nlohmann::ordered_json::object();
    for (const auto& [token, value] : lp.top) {
      top[token_text_(token)] = std::isfinite(value) ? value : -9999.0;
    }
    into.top_logprobs.push_back(std::move(top));
    into.text_offset.push_back(logprob_offset_);
    logprob_offset_ += lp.piece.size();
  }
}

nlohmann::ordered_json CompletionChoiceBuilder::chunk(
    std::string text, nlohmann::ordered_json logprobs,
    const nlohmann::ordered_json& finish_reason) const {
  nlohmann::ordered_json out = {{"id", meta_.id},
                                {"object", "text_completion"},
                                {"created", meta_.created},
                                {"model", meta_.model},
                                {"system_fingerprint", meta_.system_fingerprint}};
  out["choices"] = nlohmann::ordered_json::array({{{"index", 0},
                                                   {"text", std::move(text)},
                                                   {"logprobs", std::move(logprobs)},
                                                   {"finish_reason", finish_reason}}});
  if (options_.include_usage) out["usage"] = nullptr;
  return out;
}

std::vector<nlohmann::ordered_json> CompletionChoiceBuilder::on_text(const GenerationEvent& event) {
  text_ += event.text;
  LegacyLogprobs chunk_logprobs;
  if (options_.logprobs) {
    const size_t offset = logprob_offset_;
    append_logprobs(event, chunk_logprobs);
    // The whole response keeps every token too.
    logprob_offset_ = offset;
    append_logprobs(event, all_logprobs_);
  }
  if (!options_.streaming || (event.text.empty() && event.logprobs.empty())) return {};
  std::vector<nlohmann::ordered_json> chunks;
  chunks.push_back(chunk(
      event.text, options_.logprobs ? chunk_logprobs.to_json() : nlohmann::ordered_json(nullptr),
      nullptr));
  return chunks;
}

std::vector<nlohmann::ordered_json> CompletionChoiceBuilder::finish(const GenerationEvent& done) {
  if (!options_.streaming) return {};
  std::vector<nlohmann::ordered_json> chunks;
  chunks.push_back(chunk("", nullptr, finish_reason_name(done.finish, false)));
  if (options_.include_usage) {
    nlohmann::ordered_json usage_chunk = chunk("", nullptr, nullptr);
    usage_chunk["choices"] = nlohmann::ordered_json::array();
    usage_chunk["usage"] = usage_json(done.usage);
    chunks.push_back(std::move(usage_chunk));
  }
  return chunks;
}

nlohmann::ordered_json CompletionChoiceBuilder::response(const GenerationEvent& done) const {
  nlohmann::ordered_json out =
      chunk(text_, options_.logprobs ? all_logprobs_.to_json() : nlohmann::ordered_json(nullptr),
            finish_reason_name(done.finish, false));
  out["usage"] = usage_json(done.usage);
  return out;
}

}  // namespace hearth::server
