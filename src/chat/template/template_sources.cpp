// Where chat templates live: GGUF metadata and Hugging Face tokenizer files.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/template/chat_template.h"
#include "formats/gguf/gguf_file.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGgufTemplateKey = "tokenizer.chat_template";

// The token string for tokenizer.ggml.<which>_token_id, if the vocabulary has it.
std::optional<std::string> gguf_token(const GgufFile& file, std::string_view id_key) {
  auto id = file.get_uint(id_key);
  if (!id.ok()) return std::nullopt;
  auto tokens = file.get_array("tokenizer.ggml.tokens");
  if (!tokens.ok() || (*tokens)->elem_type != GgufType::kString) return std::nullopt;
  if (*id >= (*tokens)->strings.size()) return std::nullopt;
  return (*tokens)->strings[*id];
}

ChatSpecialTokens gguf_special_tokens(const GgufFile& file) {
  ChatSpecialTokens tokens;
  tokens.bos_token = gguf_token(file, "tokenizer.ggml.bos_token_id");
  tokens.eos_token = gguf_token(file, "tokenizer.ggml.eos_token_id");
  tokens.unk_token = gguf_token(file, "tokenizer.ggml.unknown_token_id");
  tokens.pad_token = gguf_token(file, "tokenizer.ggml.padding_token_id");
  return tokens;
}

Expected<std::string> read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error("cannot read " + path.string());
  return ss.str();
}

// tokenizer_config.json writes special tokens as a string or an AddedToken object.
Expected<std::optional<std::string>> config_token(const nlohmann::ordered_json& config,
                                                  const char* key, const std::string& origin) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) {
      return std::optional<std::string>(content->get<std::string>());
    }
  }
  return invalid_argument(origin + ": '" + key + "' must be a string or an object with 'content'");
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::from_gguf(const GgufFile& file) {
  const std::string origin = file.path().empty() ? std::string("GGUF metadata") : file.path();
  std::vector<std::pair<std::string, std::string>> named;
  for (const GgufKeyValue& kv : file.metadata()) {
    if (kv.key.compare(0, kGgufTemplateKey.size(), kGgufTemplateKey) != 0) continue;
    const std::string_view rest = std::string_view(kv.key).substr(kGgufTemplateKey.size());
    std::string name;
    if (rest.empty()) {
      name = "default";
    } else if (rest.front() == '.' && rest.size() > 1) {
      name = std::string(rest.substr(1));
    } else {
      continue;  // e.g. tokenizer.chat_templates (a list of names)
    }
    if (kv.value.type != GgufType::kString) {
      return invalid_argument(origin + ": metadata key '" + kv.key + "' must be a string, not " +
                              std::string(gguf_type_name(kv.value.type)));
    }
    named.emplace_back(std::move(name), kv.value.s);
  }
  if (named.empty()) {
    return not_found(origin +
                     " has no chat template (metadata key 'tokenizer.chat_template'); "
                     "pass one with --template FILE");
  }
  return from_named(std::move(named), gguf_special_tokens(file), origin);
}

Expected<ChatTemplate> ChatTemplate::from_gguf_path(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  return from_gguf(file);
}

namespace {

Expected<ChatSpecialTokens> config_tokens(const nlohmann::ordered_json& config,
                                          const std::string& origin) {
  ChatSpecialTokens tokens;
  HEARTH_ASSIGN_OR_RETURN(tokens.bos_token, config_token(config, "bos_token", origin));
  HEARTH_ASSIGN_OR_RETURN(tokens.eos_token, config_token(config, "eos_token", origin));
  HEARTH_ASSIGN_OR_RETURN(tokens.unk_token, config_token(config, "unk_token", origin));
  HEARTH_ASSIGN_OR_RETURN(tokens.pad_token, config_token(config, "pad_token", origin));
  return tokens;
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::from_tokenizer_config(const nlohmann::ordered_json& config,
                                                           const std::string& origin) {
  if (!config.is_object()) return invalid_argument(origin + ": expected a JSON object");
  HEARTH_ASSIGN_OR_RETURN(ChatSpecialTokens tokens, config_tokens(config, origin));
  const auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) {
    return not_found(origin + " has no 'chat_template'; pass one with --template FILE");
  }
  std::vector<std::pair<std::string, std::string>> named;
  if (it->is_string()) {
    named.emplace_back("default", it->get<std::string>());
  } else if (it->is_array()) {
    size_t index = 0;
    for (const auto& entry : *it) {
      const std::string where = origin + ": chat_template[" + std::to_string(index++) + "]";
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string()) {
        return invalid_argument(where + " must be an object with string 'name' and 'template'");
      }
      named.emplace_back(entry["name"].get<std::string>(), entry["template"].get<std::string>());
    }
  } else {
    return invalid_argument(origin +
                            ": 'chat_template' must be a string or a list of "
                            "{name, template}, not " +
                            std::string(it->type_name()));
  }
  return from_named(std::move(named), std::move(tokens), origin);
}

Expected<ChatTemplate> ChatTemplate::from_tokenizer_config_path(const std::string& path) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path config_path = is_dir ? fs::path(path) / "tokenizer_config.json" : fs::path(path);
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  const bool has_config = fs::exists(config_path, ec);
  if (has_config) {
    HEARTH_ASSIGN_OR_RETURN(std::string text, read_text_file(config_path));
    try {
      config = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      return invalid_argument(config_path.string() + " is not valid JSON: " + e.what());
    }
  } else if (!is_dir) {
    return not_found(path + " does not exist");
  }
  if (is_dir) {
    const fs::path jinja_file = fs::path(path) / "chat_template.jinja";
    if (fs::exists(jinja_file, ec)) {
      HEARTH_ASSIGN_OR_RETURN(std::string source, read_text_file(jinja_file));
      HEARTH_ASSIGN_OR_RETURN(ChatTemplate tmpl,
                              from_source(std::move(source), {}, jinja_file.string()));
      if (has_config) {
        HEARTH_ASSIGN_OR_RETURN(ChatSpecialTokens tokens,
                                config_tokens(config, config_path.string()));
        tmpl.set_special_tokens(std::move(tokens));
      }
      return tmpl;
    }
    if (!has_config)
      return not_found(path + " has no tokenizer_config.json or chat_template.jinja");
  }
  return from_tokenizer_config(config, config_path.string());
}

namespace {

enum class ModelKind { kGguf, kTokenizerConfig };

ModelKind model_kind(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ModelKind::kTokenizerConfig;
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    return ModelKind::kTokenizerConfig;
  }
  return ModelKind::kGguf;
}

}  // namespace

Expected<ChatSpecialTokens> ChatTemplate::special_tokens_from_model(const std::string& path) {
  if (model_kind(path) == ModelKind::kGguf) {
    HEARTH_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
    return gguf_special_tokens(file);
  }
  std::error_code ec;
  const fs::path config_path =
      fs::is_directory(path, ec) ? fs::path(path) / "tokenizer_config.json" : fs::path(path);
  if (!fs::exists(config_path, ec)) return ChatSpecialTokens{};
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_text_file(config_path));
  nlohmann::ordered_json config;
  try {
    config = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(config_path.string() + " is not valid JSON: " + e.what());
  }
  if (!config.is_object())
    return invalid_argument(config_path.string() + ": expected a JSON object");
  return config_tokens(config, config_path.string());
}

Expected<ChatTemplate> ChatTemplate::from_model_path(
    const std::string& path, const std::optional<std::string>& template_source) {
  if (template_source) {
    HEARTH_ASSIGN_OR_RETURN(ChatSpecialTokens tokens, special_tokens_from_model(path));
    return from_source(*template_source, std::move(tokens), "template for " + path);
  }
  if (model_kind(path) == ModelKind::kTokenizerConfig) return from_tokenizer_config_path(path);
  return from_gguf_path(path);
}

}  // namespace hearth
