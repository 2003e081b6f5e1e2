#include "chat/tool_call/tool_call_registry.h"

#include <array>

#include <fmt/format.h>

#include "chat/tool_call/hermes_parser.h"
#include "chat/tool_call/llama3_json_parser.h"
#include "chat/tool_call/mistral_parser.h"
#include "chat/tool_call/qwen3_coder_parser.h"

namespace hearth {
namespace {

constexpr std::array<std::string_view, 4> kNames = {"hermes", "qwen3_coder", "llama3_json",
                                                    "mistral"};

std::string_view canonical(std::string_view name) {
  if (name == "hermes" || name == "qwen" || name == "qwen2.5" || name == "qwen3") return "hermes";
  if (name == "qwen3_coder" || name == "qwen3_xml") return "qwen3_coder";
  if (name == "llama3_json" || name == "llama3" || name == "llama3.1" || name == "llama") {
    return "llama3_json";
  }
  if (name == "mistral") return "mistral";
  return "";
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

}  // namespace

std::span<const std::string_view> tool_call_parser_names() {
  return kNames;
}

Expected<std::unique_ptr<ToolCallParser>> make_tool_call_parser(std::string_view name,
                                                                ToolCallParserOptions options) {
  const std::string_view which = canonical(name);
  std::unique_ptr<ToolCallParser> parser;
  if (which == "hermes") parser = std::make_unique<HermesParser>(std::move(options));
  if (which == "qwen3_coder") parser = std::make_unique<Qwen3CoderParser>(std::move(options));
  if (which == "llama3_json") parser = std::make_unique<Llama3JsonParser>(std::move(options));
  if (which == "mistral") parser = std::make_unique<MistralParser>(std::move(options));
  if (!parser) {
    return invalid_argument(fmt::format("unknown tool-call parser \"{}\"; known parsers: {}", name,
                                        fmt::join(kNames, ", ")));
  }
  return parser;
}

std::optional<std::string> detect_tool_call_parser(std::string_view chat_template) {
  if (contains(chat_template, "<function=") && contains(chat_template, "<parameter=")) {
    return "qwen3_coder";
  }
  if (contains(chat_template, "<tool_call>")) return "hermes";
  if (contains(chat_template, "[TOOL_CALLS]")) return "mistral";
  const bool llama3_headers = contains(chat_template, "<|start_header_id|>");
  if (contains(chat_template, "<|python_tag|>") ||
      (llama3_headers &&
       (contains(chat_template, "ipython") || contains(chat_template, "tool_calls")))) {
    return "llama3_json";
  }
  return std::nullopt;
}

}  // namespace hearth
