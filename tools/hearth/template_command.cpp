// `hearth models template PATH --messages FILE [...]`: prints the prompt a model's chat template
// renders for a conversation, for debugging templates.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "chat/template/chat_template.h"
#include "commands.h"

namespace hearth::cli {
namespace {

struct TemplateArgs {
  std::string model_path;
  std::string messages_path;
  std::string tools_path;
  std::string template_path;
  std::string template_name;
  std::string chat_template_args;
  bool no_generation_prompt = false;
};

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Expected<nlohmann::ordered_json> parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(what + " is not valid JSON: " + e.what());
  }
}

// A file holding a JSON array, or an object with the array under `key` (an OpenAI request body
// works as the messages file; its "tools" are used when no --tools file is given).
Expected<nlohmann::ordered_json> read_json_file(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_json(text, path);
}

Expected<std::string> render_template(const TemplateArgs& args) {
  std::optional<std::string> override_source;
  if (!args.template_path.empty()) {
    HEARTH_ASSIGN_OR_RETURN(override_source, read_file(args.template_path));
  }
  HEARTH_ASSIGN_OR_RETURN(ChatTemplate tmpl,
                          ChatTemplate::from_model_path(args.model_path, override_source));
  ChatTemplateInput input;
  HEARTH_ASSIGN_OR_RETURN(nlohmann::ordered_json messages, read_json_file(args.messages_path));
  if (messages.is_object()) {
    if (!messages.contains("messages")) {
      return invalid_argument(args.messages_path +
                              ": expected a JSON array of messages or an "
                              "object with \"messages\"");
    }
    if (messages.contains("tools")) input.tools = messages["tools"];
    messages = messages["messages"];
  }
  input.messages = std::move(messages);
  if (!args.tools_path.empty()) {
    HEARTH_ASSIGN_OR_RETURN(nlohmann::ordered_json tools, read_json_file(args.tools_path));
    if (tools.is_object() && tools.contains("tools")) tools = tools["tools"];
    input.tools = std::move(tools);
  }
  if (!args.chat_template_args.empty()) {
    HEARTH_ASSIGN_OR_RETURN(input.kwargs,
                            parse_json(args.chat_template_args, "--chat-template-args"));
  }
  input.add_generation_prompt = !args.no_generation_prompt;
  input.template_name = args.template_name;
  return tmpl.render(input);
}

}  // namespace

void register_template_command(CLI::App& app, std::function<int()>& run) {
  CLI::App* models = app.get_subcommand("models");
  static TemplateArgs args;
  CLI::App* cmd = models->add_subcommand(
      "template", "Print the prompt a model's chat template renders for a conversation");
  cmd->add_option("path", args.model_path,
                  "a .gguf file, or a model directory / tokenizer_config.json")
      ->required();
  cmd->add_option("--messages", args.messages_path,
                  "JSON file: an array of messages, or an object with \"messages\" (and "
                  "\"tools\")")
      ->required();
  cmd->add_option("--tools", args.tools_path, "JSON file with the list of tools");
  cmd->add_option("--chat-template-args", args.chat_template_args,
                  "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("--no-generation-prompt", args.no_generation_prompt,
                "do not add the assistant header at the end");
  cmd->add_option("--template", args.template_path,
                  "use this Jinja file instead of the model's template");
  cmd->add_option("--template-name", args.template_name,
                  "which named template to use (e.g. tool_use)");
  cmd->callback([&run] {
    run = [] {
      auto prompt = render_template(args);
      if (!prompt.ok()) {
        fmt::print(stderr, "error: {}\n", prompt.status().to_string());
        return 1;
      }
      std::fwrite(prompt->data(), 1, prompt->size(), stdout);
      return 0;
    };
  });
}

}  // namespace hearth::cli
