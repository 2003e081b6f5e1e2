#include "server/openai/chat_output_parser.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "chat/tool_call/tool_call_registry.h"

namespace hearth::server {

std::string tool_call_dialect(const std::string& requested, const std::string& template_source) {
  if (!requested.empty()) return requested;
  if (auto detected = detect_tool_call_parser(template_source)) return *detected;
  return "hermes";  // the most common format; also what templates without markers get
}

Expected<std::unique_ptr<OutputParser>> ChatOutputParser::create(const OutputParserConfig& config) {
  ReasoningOptions reasoning_options;
  reasoning_options.start = reasoning_start_for_prompt(config.rendered_prompt, reasoning_options);
  HEARTH_ASSIGN_OR_RETURN(ReasoningParser reasoning,
                          ReasoningParser::create(std::move(reasoning_options)));
  std::unique_ptr<ToolCallParser> tools;
  if (config.tools.is_array() && !config.tools.empty()) {
    ToolCallParserOptions options;
    options.stream_arguments = config.streaming;
    for (const auto& tool : config.tools) {
      const auto& function = tool["function"];
      options.tools.push_back(ToolSpec{
          function["name"].get<std::string>(),
          function.contains("parameters") ? function["parameters"] : nlohmann::ordered_json()});
    }
    HEARTH_ASSIGN_OR_RETURN(
        tools, make_tool_call_parser(
                   tool_call_dialect(config.tool_call_parser, config.chat_template_source),
                   std::move(options)));
  }
  return std::unique_ptr<OutputParser>(
      std::make_unique<ChatOutputParser>(std::move(reasoning), std::move(tools)));
}

ChatOutputParser::ChatOutputParser(ReasoningParser reasoning, std::unique_ptr<ToolCallParser> tools)
    : reasoning_(std::move(reasoning)), tools_(std::move(tools)) {}

void ChatOutputParser::append_message_deltas(std::vector<MessageDelta>& deltas,
                                             std::vector<OutputDelta>& out) {
  for (auto& d : deltas) {
    if (!d.content.empty()) {
      OutputDelta content;
      content.text = std::move(d.content);
      out.push_back(std::move(content));
    }
    if (!d.tool_call) continue;
    OutputDelta call;
    call.tool_index = d.tool_call->index;
    if (d.tool_call->is_header()) {
      call.kind = OutputDelta::Kind::kToolCallStart;
      call.tool_call_id = std::move(d.tool_call->id);
      call.tool_name = std::move(d.tool_call->name);
      const bool has_arguments = !d.tool_call->arguments.empty();
      std::string arguments = std::move(d.tool_call->arguments);
      out.push_back(std::move(call));
      if (has_arguments) {
        OutputDelta args;
        args.kind = OutputDelta::Kind::kToolCallArgs;
        args.tool_index = out.back().tool_index;
        args.text = std::move(arguments);
        out.push_back(std::move(args));
      }
    } else {
      call.kind = OutputDelta::Kind::kToolCallArgs;
      call.text = std::move(d.tool_call->arguments);
      out.push_back(std::move(call));
    }
  }
  deltas.clear();
}

void ChatOutputParser::route(ReasoningDelta& delta, std::vector<OutputDelta>& out) {
  if (!delta.reasoning.empty()) {
    OutputDelta reasoning;
    reasoning.kind = OutputDelta::Kind::kReasoning;
    reasoning.text = std::move(delta.reasoning);
    out.push_back(std::move(reasoning));
  }
  if (delta.content.empty()) return;
  if (!tools_) {
    OutputDelta content;
    content.text = std::move(delta.content);
    out.push_back(std::move(content));
    return;
  }
  tools_->feed(delta.content, scratch_);
  append_message_deltas(scratch_, out);
}

std::vector<OutputDelta> ChatOutputParser::feed(std::string_view text) {
  std::vector<OutputDelta> out;
  ReasoningDelta delta;
  reasoning_.feed(text, delta);
  route(delta, out);
  return out;
}

std::vector<OutputDelta> ChatOutputParser::finish() {
  std::vector<OutputDelta> out;
  ReasoningDelta delta;
  reasoning_.finish(delta);
  route(delta, out);
  if (tools_) {
    tools_->finish(scratch_);
    append_message_deltas(scratch_, out);
  }
  return out;
}

}  // namespace hearth::server
