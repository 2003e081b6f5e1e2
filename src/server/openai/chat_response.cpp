#include "server/openai/chat_response.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace hearth::server {

ChatChoiceBuilder::ChatChoiceBuilder(ResponseMeta meta, ChatChoiceOptions options,
                                     std::unique_ptr<OutputParser> parser, TokenTextFn token_text)
    : meta_(std::move(meta)),
      options_(options),
      parser_(std::move(parser)),
      token_text_(std::move(token_text)) {}

nlohmann::ordered_json ChatChoiceBuilder::chunk_base() const {
  nlohmann::ordered_json chunk = {{"id", meta_.id},
                                  {"object", "chat.completion.chunk"},
                                  {"created", meta_.created},
                                  {"model", meta_.model},
                                  {"system_fingerprint", meta_.system_fingerprint}};
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

nlohmann::ordered_json ChatChoiceBuilder::chunk(nlohmann::ordered_json delta,
                                                const nlohmann::ordered_json& finish_reason) {
  nlohmann::ordered_json choice = {
      {"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  if (options_.logprobs && !pending_logprobs_.empty()) {
    choice["logprobs"] = {{"content", std::move(pending_logprobs_)}, {"refusal", nullptr}};
    pending_logprobs_ = nlohmann::ordered_json::array();
  }
  choice["finish_reason"] = finish_reason;
  nlohmann::ordered_json out = chunk_base();
  out["choices"] = nlohmann::ordered_json::array({std::move(choice)});
  return out;
}

std::vector<nlohmann::ordered_json> ChatChoiceBuilder::start() {
  if (!options_.streaming) return {};
  std::vector<nlohmann::ordered_json> chunks;
  chunks.push_back(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
  return chunks;
}

void ChatChoiceBuilder::apply(std::vector<OutputDelta> deltas,
                              std::vector<nlohmann::ordered_json>& chunks) {
  for (auto& d : deltas) {
    nlohmann::ordered_json delta;
    switch (d.kind) {
      case OutputDelta::Kind::kContent:
        if (d.text.empty()) continue;
        content_ += d.text;
        delta = {{"content", std::move(d.text)}};
        break;
      case OutputDelta::Kind::kReasoning:
        if (d.text.empty()) continue;
        reasoning_ += d.text;
        delta = {{"reasoning_content", std::move(d.text)}};
        break;
      case OutputDelta::Kind::kToolCallStart: {
        if (d.tool_index < 0) continue;
        if (tool_index_map_.size() <= size_t(d.tool_index)) {
          tool_index_map_.resize(size_t(d.tool_index) + 1, -1);
        }
        if (!options_.parallel_tool_calls && !tool_calls_.empty()) {
          spdlog::warn("dropping tool call '{}': the request set parallel_tool_calls=false",
                       d.tool_name);
          continue;
        }
        const int index = static_cast<int>(tool_calls_.size());
        tool_index_map_[size_t(d.tool_index)] = index;
        ToolCall call{d.tool_call_id.empty() ? random_id("call_") : d.tool_call_id, d.tool_name,
                      ""};
        delta = {{"tool_calls", nlohmann::ordered_json::array(
                                    {{{"index", index},
                                      {"id", call.id},
                                      {"type", "function"},
                                      {"function", {{"name", call.name}, {"arguments", ""}}}}})}};
        tool_calls_.push_back(std::move(call));
        break;
      }
      case OutputDelta::Kind::kToolCallArgs: {
        if (d.tool_index < 0 || size_t(d.tool_index) >= tool_index_map_.size()) continue;
        const int index = tool_index_map_[size_t(d.tool_index)];
        if (index < 0 || d.text.empty()) continue;
        tool_calls_[size_t(index)].arguments += d.text;
        delta = {{"tool_calls",
                  nlohmann::ordered_json::array(
                      {{{"index", index}, {"function", {{"arguments", std::move(d.text)}}}}})}};
        break;
      }
    }
    if (options_.streaming) chunks.push_back(chunk(std::move(delta), nullptr));
  }
}

std::vector<nlohmann::ordered_json> ChatChoiceBuilder::on_text(const GenerationEvent& event) {
  if (options_.logprobs) {
    for (const auto& lp : event.logprobs) {
      auto entry = chat_logprob_json(lp, token_text_);
      all_logprobs_.push_back(entry);
      pending_logprobs_.push_back(std::move(entry));
    }
  }
  std::vector<nlohmann::ordered_json> chunks;
  apply(parser_->feed(event.text), chunks);
  return chunks;
}

std::vector<nlohmann::ordered_json> ChatChoiceBuilder::finish(const GenerationEvent& done) {
  std::vector<nlohmann::ordered_json> chunks;
  apply(parser_->finish(), chunks);
  if (!options_.streaming) return chunks;
  chunks.push_back(chunk(nlohmann::ordered_json::object(),
                         finish_reason_name(done.finish, !tool_calls_.empty())));
  if (options_.include_usage) {
    nlohmann::ordered_json usage_chunk = chunk_base();
    usage_chunk["choices"] = nlohmann::ordered_json::array();
    usage_chunk["usage"] = usage_json(done.usage);
    chunks.push_back(std::move(usage_chunk));
  }
  return chunks;
}

nlohmann::ordered_json ChatChoiceBuilder::response(const GenerationEvent& done) const {
  nlohmann::ordered_json message = {{"role", "assistant"}};
  if (tool_calls_.empty() || !content_.empty()) {
    message["content"] = content_;
  } else {
    message["content"] = nullptr;
  }
  message["refusal"] = nullptr;
  if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
  if (!tool_calls_.empty()) {
    nlohmann::ordered_json calls = nlohmann::ordered_json::array();
    for (const auto& call : tool_calls_) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  nlohmann::ordered_json choice = {{"index", 0}, {"message", std::move(message)}};
  choice["logprobs"] =
      options_.logprobs ? nlohmann::ordered_json{{"content", all_logprobs_}, {"refusal", nullptr}}
                        : nlohmann::ordered_json(nullptr);
  choice["finish_reason"] = finish_reason_name(done.finish, !tool_calls_.empty());
  return {{"id", meta_.id},
          {"object", "chat.completion"},
          {"created", meta_.created},
          {"model", meta_.model},
          {"system_fingerprint", meta_.system_fingerprint},
          {"choices", nlohmann::ordered_json::array({std::move(choice)})},
          {"usage", usage_json(done.usage)}};
}

}  // namespace hearth::server
