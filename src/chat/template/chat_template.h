// A model's chat template: finds the Jinja source in GGUF metadata (tokenizer.chat_template and
// named tokenizer.chat_template.<name>) or a Hugging Face tokenizer_config.json (a string, or a
// list of {name, template}), and renders conversations the way transformers'
// apply_chat_template does: message keys whose value is null are dropped, the reasoning fields
// (reasoning_content / thinking / reasoning) are aliased to each other, and the template sees
// messages, tools, documents, add_generation_prompt, the special tokens (bos_token, eos_token,
// unk_token, pad_token) and the caller's chat_template_kwargs (enable_thinking, ...).
//
// JSON is nlohmann::ordered_json so object key order survives into `tojson` output (Python
// dicts keep insertion order; a sorted nlohmann::json would reorder tool schemas).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja/template.h"
#include "hearth/status.h"

namespace hearth {

class GgufFile;

// transformers' special_tokens_map; a token that is nullopt is not defined in the template.
struct ChatSpecialTokens {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
};

struct ChatTemplateInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null: no tools (templates see tools = None)
  nlohmann::ordered_json documents;  // null: none
  bool add_generation_prompt = true;
  // chat_template_kwargs: extra variables (enable_thinking, reasoning_effort, ...). They
  // override the special tokens, as in transformers.
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  // Which named template to use; empty: "tool_use" when tools are given and the model has one,
  // otherwise "default".
  std::string template_name;
};

class ChatTemplate {
 public:
  // One template source; `origin` names where it came from in error messages.
  static Expected<ChatTemplate> from_source(std::string source, ChatSpecialTokens tokens = {},
                                            std::string origin = "chat template");
  // tokenizer.chat_template (+ named variants) and BOS/EOS token strings from the vocabulary.
  static Expected<ChatTemplate> from_gguf(const GgufFile& file);
  static Expected<ChatTemplate> from_gguf_path(const std::string& path);
  // A parsed tokenizer_config.json (`origin` names the file for errors).
  static Expected<ChatTemplate> from_tokenizer_config(const nlohmann::ordered_json& config,
                                                      const std::string& origin);
  // A tokenizer_config.json file, or a model directory containing one (a chat_template.jinja
  // file in the directory takes precedence, as in recent transformers).
  static Expected<ChatTemplate> from_tokenizer_config_path(const std::string& path);
  // A GGUF file or a Hugging Face model directory (or its tokenizer_config.json). With
  // `template_source`, that text replaces the model's template (the model still supplies the
  // special tokens), which is how a model without a template, or a fixed one, is used.
  static Expected<ChatTemplate> from_model_path(
      const std::string& path, const std::optional<std::string>& template_source = std::nullopt);
  // The special tokens of a GGUF file (from its vocabulary) or of a tokenizer_config.json.
  static Expected<ChatSpecialTokens> special_tokens_from_model(const std::string& path);

  Expected<std::string> render(const ChatTemplateInput& input,
                               const jinja::RenderOptions& options = {}) const;
  // The shape of the common call: messages, tools, add_generation_prompt and kwargs.
  Expected<std::string> render(
      const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
      bool add_generation_prompt,
      const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;

  // "default" first, then the other names in order.
  std::vector<std::string> template_names() const;
  // The source of a named template ("default" for the main one); nullptr if absent.
  const std::string* source(std::string_view name = "default") const;
  const ChatSpecialTokens& special_tokens() const { return tokens_; }
  void set_special_tokens(ChatSpecialTokens tokens) { tokens_ = std::move(tokens); }

 private:
  struct Named {
    std::string name;
    std::string source;
    Expected<jinja::Template> compiled;  // a parse error surfaces when this one is used
  };
  static Expected<ChatTemplate> from_named(std::vector<std::pair<std::string, std::string>> named,
                                           ChatSpecialTokens tokens, std::string origin);
  const Named* select(const ChatTemplateInput& input, Status& error) const;

  std::vector<Named> templates_;
  ChatSpecialTokens tokens_;
  std::string origin_;
};

}  // namespace hearth
