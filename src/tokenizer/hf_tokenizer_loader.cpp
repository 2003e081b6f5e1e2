#include "tokenizer/hf_tokenizer_loader.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_util.h"

namespace hearth {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTokenId = (1 << 24) - 1;  // far above any real vocabulary

Expected<json> parse_json(std::string_view text, std::string_view name) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return corrupt_data(std::string(name) + " is not valid JSON: " + e.what());
  }
}

Status check_token_id(int64_t id, std::string_view what) {
  if (id < 0 || id > kMaxTokenId) {
    return invalid_argument(std::string(what) + " has id " + std::to_string(id) + ", outside 0.." +
                            std::to_string(kMaxTokenId));
  }
  return {};
}

Status check_empty_or_null(const json& model, std::string_view key) {
  auto it = model.find(std::string(key));
  if (it == model.end() || it->is_null()) return {};
  if (it->is_string() && it->get<std::string>().empty()) return {};
  return unsupported("tokenizer.json model." + std::string(key) + " is not supported");
}

Expected<BpeModel> load_model(const json& root, bool byte_level) {
  auto it = root.find("model");
  if (it == root.end() || !it->is_object()) {
    return invalid_argument("tokenizer.json has no 'model' object");
  }
  const json& model = *it;
  // Files written by old versions have no "type"; they are BPE when they list merges.
  std::string type = model.contains("merges") ? "BPE" : "(unknown)";
  if (model.contains("type")) {
    HEARTH_ASSIGN_OR_RETURN(type, json_string(model, "type", "tokenizer.json model"));
  }
  if (type != "BPE") {
    return unsupported("tokenizer.json model type '" + type +
                       "' is not supported (supported: BPE)");
  }
  auto vocab_it = model.find("vocab");
  if (vocab_it == model.end() || !vocab_it->is_object()) {
    return invalid_argument("tokenizer.json model.vocab must be an object of token -> id");
  }
  std::vector<std::string> tokens;
  for (const auto& [token, id_value] : vocab_it->items()) {
    if (!id_value.is_number_integer()) {
      return invalid_argument("tokenizer.json model.vocab['" + token + "'] is not an integer");
    }
    const int64_t id = id_value.get<int64_t>();
    HEARTH_RETURN_IF_ERROR(check_token_id(id, "vocabulary token '" + token + "'"));
    if (static_cast<size_t>(id) >= tokens.size()) tokens.resize(static_cast<size_t>(id) + 1);
    tokens[static_cast<size_t>(id)] = token;
  }

  HEARTH_ASSIGN_OR_RETURN(const json* merges_json,
                          json_array(model, "merges", "tokenizer.json model"));
  std::vector<std::pair<std::string, std::string>> merge_pairs;
  merge_pairs.reserve(merges_json->size());
  for (size_t i = 0; i < merges_json->size(); ++i) {
    const json& m = (*merges_json)[i];
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return invalid_argument("tokenizer.json merge " + std::to_string(i) + " ('" + s +
                                "') is not two tokens separated by one space");
      }
      merge_pairs.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merge_pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return invalid_argument("tokenizer.json merge " + std::to_string(i) +
                              " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  HEARTH_ASSIGN_OR_RETURN(std::vector<BpeMerge> merges,
                          BpeModel::resolve_merges(tokens, merge_pairs));

  BpeOptions options;
  options.byte_level = byte_level;
  HEARTH_ASSIGN_OR_RETURN(options.byte_fallback,
                          json_bool(model, "byte_fallback", false, "tokenizer.json model"));
  HEARTH_ASSIGN_OR_RETURN(options.fuse_unk,
                          json_bool(model, "fuse_unk", false, "tokenizer.json model"));
  HEARTH_ASSIGN_OR_RETURN(options.ignore_merges,
                          json_bool(model, "ignore_merges", false, "tokenizer.json model"));
  HEARTH_RETURN_IF_ERROR(check_empty_or_null(model, "continuing_subword_prefix"));
  HEARTH_RETURN_IF_ERROR(check_empty_or_null(model, "end_of_word_suffix"));
  if (auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
    if (!d->is_number() || d->get<double>() != 0.0) {
      return unsupported("tokenizer.json model.dropout (random merges) is not supported");
    }
  }
  if (auto u = model.find("unk_token"); u != model.end() && !u->is_null()) {
    if (!u->is_string()) return invalid_argument("tokenizer.json model.unk_token must be a string");
    const std::string unk = u->get<std::string>();
    auto found = std::find(tokens.begin(), tokens.end(), unk);
    if (found == tokens.end()) {
      return invalid_argument("tokenizer.json model.unk_token '" + unk +
                              "' is not in the vocabulary");
    }
    options.unk_id = static_cast<int32_t>(found - tokens.begin());
  }
  return BpeModel::build(std::move(tokens), merges, options);
}

Status load_added_tokens(const json& root, const Normalizer& normalizer, AddedVocab& added) {
  auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return {};
  if (!it->is_array()) return invalid_argument("tokenizer.json added_tokens must be an array");
  for (const json& entry : *it) {
    AddedToken t;
    HEARTH_ASSIGN_OR_RETURN(t.content, json_string(entry, "content", "tokenizer.json added token"));
    const std::string context = "added token '" + t.content + "'";
    HEARTH_ASSIGN_OR_RETURN(const int64_t id, json_int(entry, "id", -1, context));
    HEARTH_RETURN_IF_ERROR(check_token_id(id, context));
    t.id = static_cast<int32_t>(id);
    HEARTH_ASSIGN_OR_RETURN(t.special, json_bool(entry, "special", false, context));
    HEARTH_ASSIGN_OR_RETURN(t.single_word, json_bool(entry, "single_word", false, context));
    HEARTH_ASSIGN_OR_RETURN(t.lstrip, json_bool(entry, "lstrip", false, context));
    HEARTH_ASSIGN_OR_RETURN(t.rstrip, json_bool(entry, "rstrip", false, context));
    HEARTH_ASSIGN_OR_RETURN(t.normalized, json_bool(entry, "normalized", true, context));
    std::string normalized_content;
    if (t.normalized && !normalizer.apply(t.content, normalized_content))
      normalized_content.clear();
    added.add(std::move(t), std::move(normalized_content));
  }
  added.finalize();
  return {};
}

// Ids of a post-processor's special tokens around the text, in the order they appear.
Status load_post_processor(const json& spec, std::vector<int32_t>& prefix,
                           std::vector<int32_t>& suffix, int depth) {
  if (spec.is_null()) return {};
  if (depth > 8) return unsupported("post_processor Sequence nested deeper than 8 levels");
  HEARTH_ASSIGN_OR_RETURN(const std::string type, json_string(spec, "type", "post_processor"));
  if (type == "ByteLevel") return {};  // offsets only
  if (type == "Sequence") {
    HEARTH_ASSIGN_OR_RETURN(const json* list, json_array(spec, "processors", "post_processor"));
    for (const json& p : *list)
      HEARTH_RETURN_IF_ERROR(load_post_processor(p, prefix, suffix, depth + 1));
    return {};
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    for (const char* key : {"cls", "sep"}) {
      auto it = spec.find(key);
      if (it == spec.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer()) {
        return invalid_argument("post_processor " + type + " needs '" + key + "': [token, id]");
      }
      const int64_t id = (*it)[1].get<int64_t>();
      HEARTH_RETURN_IF_ERROR(check_token_id(id, "post_processor token"));
      if (std::string(key) == "cls") {
        prefix.insert(prefix.begin(), static_cast<int32_t>(id));
      } else {
        suffix.push_back(static_cast<int32_t>(id));
      }
    }
    return {};
  }
  if (type != "TemplateProcessing") {
    return unsupported("tokenizer.json post_processor type '" + type +
                       "' is not supported (supported: TemplateProcessing, ByteLevel, "
                       "BertProcessing, RobertaProcessing, Sequence)");
  }
  HEARTH_ASSIGN_OR_RETURN(const json* single, json_array(spec, "single", "post_processor"));
  auto specials = spec.find("special_tokens");
  std::vector<int32_t> before;
  std::vector<int32_t> after;
  bool seen_text = false;
  for (const json& item : *single) {
    if (item.contains("Sequence")) {
      seen_text = true;
      continue;
    }
    if (!item.contains("SpecialToken")) {
      return invalid_argument(
          "post_processor TemplateProcessing item is neither Sequence nor "
          "SpecialToken");
    }
    HEARTH_ASSIGN_OR_RETURN(const std::string name,
                            json_string(item["SpecialToken"], "id", "post_processor SpecialToken"));
    if (specials == spec.end() || !specials->contains(name)) {
      return invalid_argument("post_processor template uses '" + name +
                              "', which special_tokens does not define");
    }
    HEARTH_ASSIGN_OR_RETURN(const json* ids,
                            json_array((*specials)[name], "ids", "post_processor special token"));
    for (const json& id : *ids) {
      if (!id.is_number_integer()) return invalid_argument("post_processor id is not an integer");
      HEARTH_RETURN_IF_ERROR(
          check_token_id(id.get<int64_t>(), "post_processor token '" + name + "'"));
      (seen_text ? after : before).push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  prefix.insert(prefix.begin(), before.begin(), before.end());
  suffix.insert(suffix.end(), after.begin(), after.end());
  return {};
}

// A token named in tokenizer_config.json: a string, {"content": ...}, or null.
std::string config_token_name(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return {};
}

std::string config_chat_template(const json& config) {
  auto it = config.find("chat_template");
  if (it == config.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {  // [{"name": ..., "template": ...}]: the default one, else the first
    std::string first;
    for (const json& t : *it) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_string()) continue;
      const std::string text = t["template"].get<std::string>();
      if (t.value("name", json()).is_string() && t["name"].get<std::string>() == "default") {
        return text;
      }
      if (first.empty()) first = text;
    }
    return first;
  }
  return {};
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> load_hf_tokenizer(std::string_view tokenizer_json,
                                                       std::string_view tokenizer_config_json,
                                                       std::string_view generation_config_json) {
  HEARTH_ASSIGN_OR_RETURN(const json root, parse_json(tokenizer_json, "tokenizer.json"));
  if (!root.is_object()) return invalid_argument("tokenizer.json is not a JSON object");
  json config = json::object();
  if (!tokenizer_config_json.empty()) {
    HEARTH_ASSIGN_OR_RETURN(config, parse_json(tokenizer_config_json, "tokenizer_config.json"));
    if (!config.is_object()) return invalid_argument("tokenizer_config.json is not a JSON object");
  }
  json generation = json::object();
  if (!generation_config_json.empty()) {
    HEARTH_ASSIGN_OR_RETURN(generation,
                            parse_json(generation_config_json, "generation_config.json"));
  }

  BpeTokenizerConfig parts;
  HEARTH_ASSIGN_OR_RETURN(parts.normalizer,
                          Normalizer::from_json(root.value("normalizer", json())));
  HEARTH_ASSIGN_OR_RETURN(parts.pre_tokenizer,
                          PreTokenizer::from_json(root.value("pre_tokenizer", json())));
  HEARTH_ASSIGN_OR_RETURN(parts.decoder, Decoder::from_json(root.value("decoder", json())));
  HEARTH_ASSIGN_OR_RETURN(parts.model, load_model(root, parts.pre_tokenizer.byte_level()));
  HEARTH_RETURN_IF_ERROR(load_added_tokens(root, parts.normalizer, parts.added));
  HEARTH_RETURN_IF_ERROR(load_post_processor(root.value("post_processor", json()), parts.prefix_ids,
                                             parts.suffix_ids, 0));

  auto find_id = [&](const std::string& name) -> int32_t {
    if (name.empty()) return -1;
    for (const AddedToken& t : parts.added.tokens()) {
      if (t.content == name) return t.id;
    }
    return parts.model.find(name).value_or(-1);
  };
  SpecialTokenIds& special = parts.special;
  special.bos = find_id(config_token_name(config, "bos_token"));
  special.eos = find_id(config_token_name(config, "eos_token"));
  special.pad = find_id(config_token_name(config, "pad_token"));
  special.unk = find_id(config_token_name(config, "unk_token"));
  if (special.unk < 0) special.unk = parts.model.options().unk_id;
  if (special.bos < 0 && !parts.prefix_ids.empty()) special.bos = parts.prefix_ids.front();
  if (special.eos < 0 && !parts.suffix_ids.empty()) special.eos = parts.suffix_ids.back();

  // transformers rebuilds the post-processor from these flags when the config sets them.
  auto flag = [&](const char* key) -> std::optional<bool> {
    auto it = config.find(key);
    if (it == config.end() || !it->is_boolean()) return std::nullopt;
    return it->get<bool>();
  };
  if (auto add_bos = flag("add_bos_token")) {
    const bool has = !parts.prefix_ids.empty() && parts.prefix_ids.front() == special.bos;
    if (*add_bos && !has && special.bos >= 0)
      parts.prefix_ids.insert(parts.prefix_ids.begin(), special.bos);
    if (!*add_bos && has) parts.prefix_ids.erase(parts.prefix_ids.begin());
  }
  if (auto add_eos = flag("add_eos_token")) {
    const bool has = !parts.suffix_ids.empty() && parts.suffix_ids.back() == special.eos;
    if (*add_eos && !has && special.eos >= 0) parts.suffix_ids.push_back(special.eos);
    if (!*add_eos && has) parts.suffix_ids.pop_back();
  }
  if (auto eos = generation.find("eos_token_id");
      generation.is_object() && eos != generation.end()) {
    const json list = eos->is_array() ? *eos : json::array({*eos});
    for (const json& id : list) {
      if (!id.is_number_integer()) continue;
      HEARTH_RETURN_IF_ERROR(
          check_token_id(id.get<int64_t>(), "generation_config.json eos_token_id"));
      special.eog.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  parts.chat_template = config_chat_template(config);

  auto tokenizer = BpeTokenizer::create(std::move(parts));
  if (!tokenizer.ok()) return tokenizer.status().with_context("tokenizer.json");
  return std::unique_ptr<Tokenizer>(std::move(tokenizer).value());
}

}  // namespace hearth
