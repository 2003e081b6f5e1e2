// Chat completion responses and stream chunks (object "chat.completion" /
// "chat.completion.chunk"), built from engine events through the OutputParser seam.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/openai/output_parser.h"
#include "server/openai/response_common.h"

namespace hearth::server {

struct ChatChoiceOptions {
  bool streaming = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  bool parallel_tool_calls = true;  // false: calls after the first are dropped (and logged)
};

class ChatChoiceBuilder final : public ChoiceBuilder {
 public:
  ChatChoiceBuilder(ResponseMeta meta, ChatChoiceOptions options,
                    std::unique_ptr<OutputParser> parser, TokenTextFn token_text);

  std::vector<nlohmann::ordered_json> start() override;
  std::vector<nlohmann::ordered_json> on_text(const GenerationEvent& event) override;
  std::vector<nlohmann::ordered_json> finish(const GenerationEvent& done) override;
  nlohmann::ordered_json response(const GenerationEvent& done) const override;

 private:
  struct ToolCall {
    std::string id;
    std::string name;
    std::string arguments;
  };

  void apply(std::vector<OutputDelta> deltas, std::vector<nlohmann::ordered_json>& chunks);
  nlohmann::ordered_json chunk(nlohmann::ordered_json delta,
                               const nlohmann::ordered_json& finish_reason);
  nlohmann::ordered_json chunk_base() const;

  ResponseMeta meta_;
  ChatChoiceOptions options_;
  std::unique_ptr<OutputParser> parser_;
  TokenTextFn token_text_;

  std::string content_;
  std::string reasoning_;
  std::vector<ToolCall> tool_calls_;
  std::vector<int> tool_index_map_;  // parser's tool index -> ours, -1 when dropped
  nlohmann::ordered_json all_logprobs_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json pending_logprobs_ =
      nlohmann::ordered_json::array();  // not yet sent in a chunk
};

}  // namespace hearth::server
