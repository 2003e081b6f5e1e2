#include "formats/hf/hf_config.h"

#include <cmath>

#include "formats/json_parse.h"

namespace hearth {
namespace {

using nlohmann::json;

// Typed access to one JSON object, naming fields as "<prefix><key>" in errors. A null value
// counts as absent (configs write "sliding_window": null).
class FieldReader {
 public:
  FieldReader(const json& obj, std::string what, std::string prefix)
      : obj_(obj), what_(std::move(what)), prefix_(std::move(prefix)) {}

  const json* find(std::string_view key) const {
    const auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  Status wrong_type(std::string_view key, std::string_view want, const json& v) const {
    return corrupt_data(what_ + ": field '" + prefix_ + std::string(key) + "' should be " +
                        std::string(want) + " but is " + json_describe(v));
  }
  Status missing(std::string_view key) const {
    return corrupt_data(what_ + ": required field '" + prefix_ + std::string(key) + "' is missing");
  }

  Expected<std::optional<int64_t>> get_int(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::optional<int64_t>();
    if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return wrong_type(key, "an integer that fits in 64 bits", *v);
      }
      return std::optional<int64_t>(v->get<int64_t>());
    }
    // 1e6-style integral floats appear in hand-edited configs.
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        return std::optional<int64_t>(static_cast<int64_t>(d));
      }
    }
    return wrong_type(key, "an integer", *v);
  }

  // A required integer > 0.
  Expected<int64_t> get_positive(std::string_view key) const {
    HEARTH_ASSIGN_OR_RETURN(std::optional<int64_t> v, get_int(key));
    if (!v) return missing(key);
    if (*v <= 0) return wrong_type(key, "a positive integer", *find(key));
    return *v;
  }

  // An optional integer that, when present, is > 0.
  Expected<std::optional<int64_t>> get_optional_positive(std::string_view key) const {
    HEARTH_ASSIGN_OR_RETURN(std::optional<int64_t> v, get_int(key));
    if (v && *v <= 0) return wrong_type(key, "a positive integer", *find(key));
    return v;
  }

  Expected<std::optional<double>> get_number(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::optional<double>();
    if (!v->is_number()) return wrong_type(key, "a number", *v);
    return std::optional<double>(v->get<double>());
  }

  Expected<std::optional<bool>> get_bool(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::optional<bool>();
    if (!v->is_boolean()) return wrong_type(key, "true or false", *v);
    return std::optional<bool>(v->get<bool>());
  }

  Expected<std::optional<std::string>> get_string(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) return wrong_type(key, "a string", *v);
    return std::optional<std::string>(v->get<std::string>());
  }

  // An int, a list of ints, or absent.
  Expected<std::vector<int64_t>> get_token_ids(std::string_view key) const {
    const json* v = find(key);
    std::vector<int64_t> out;
    if (!v) return out;
    if (v->is_number_integer()) {
      out.push_back(v->get<int64_t>());
      return out;
    }
    if (!v->is_array()) return wrong_type(key, "a token id or a list of token ids", *v);
    for (const json& e : *v) {
      if (!e.is_number_integer()) return wrong_type(key, "a list of integer token ids", *v);
      out.push_back(e.get<int64_t>());
    }
    return out;
  }

  const std::string& what() const { return what_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& obj_;
  std::string what_;
  std::string prefix_;
};

Expected<HfRopeScaling> parse_rope_scaling(const json& obj, const std::string& what,
                                           const std::string& field) {
  if (!obj.is_object()) {
    return corrupt_data(what + ": field '" + field + "' should be an object but is " +
                        json_describe(obj));
  }
  const FieldReader r(obj, what, field + ".");
  HfRopeScaling rs;
  HEARTH_ASSIGN_OR_RETURN(std::optional<std::string> type, r.get_string("rope_type"));
  if (!type) {
    HEARTH_ASSIGN_OR_RETURN(type, r.get_string("type"));
  }
  if (!type) return r.missing("rope_type");
  rs.rope_type = *type;
  HEARTH_ASSIGN_OR_RETURN(rs.factor, r.get_number("factor"));
  HEARTH_ASSIGN_OR_RETURN(rs.low_freq_factor, r.get_number("low_freq_factor"));
  HEARTH_ASSIGN_OR_RETURN(rs.high_freq_factor, r.get_number("high_freq_factor"));
  HEARTH_ASSIGN_OR_RETURN(rs.original_max_position_embeddings,
                          r.get_optional_positive("original_max_position_embeddings"));
  return rs;
}

// MLX writes {"group_size": 64, "bits": 4} under "quantization" (and a copy under
// "quantization_config"); other tools' "quantization_config" carries a "quant_method".
Expected<std::optional<HfQuantization>> parse_quantization(const FieldReader& root) {
  const char* key = "quantization";
  const json* q = root.find(key);
  if (!q) {
    key = "quantization_config";
    q = root.find(key);
    if (q && q->is_object() && q->contains("quant_method")) q = nullptr;
  }
  if (!q) return std::optional<HfQuantization>();
  if (!q->is_object()) return root.wrong_type(key, "an object", *q);
  const FieldReader r(*q, root.what(), std::string(key) + ".");
  HfQuantization out;
  HEARTH_ASSIGN_OR_RETURN(out.group_size, r.get_positive("group_size"));
  HEARTH_ASSIGN_OR_RETURN(out.bits, r.get_positive("bits"));
  if (out.bits > 8) return r.wrong_type("bits", "a bit width from 1 to 8", *r.find("bits"));
  return std::optional<HfQuantization>(out);
}

}  // namespace

Expected<HfModelConfig> parse_hf_config(std::string_view json_text, std::string_view what_sv) {
  const std::string what(what_sv);
  HEARTH_ASSIGN_OR_RETURN(json root, parse_json_strict(json_text, what));
  if (!root.is_object()) return corrupt_data(what + " is not a JSON object");
  const FieldReader top(root, what, "");
  // Language-model fields live in text_config for multimodal checkpoints.
  const json* text_config = top.find("text_config");
  if (text_config && !text_config->is_object()) {
    return top.wrong_type("text_config", "an object", *text_config);
  }
  const FieldReader lm = text_config ? FieldReader(*text_config, what, "text_config.") : top;

  HfModelConfig c;
  if (const json* archs = top.find("architectures")) {
    if (!archs->is_array()) return top.wrong_type("architectures", "a list of strings", *archs);
    for (const json& a : *archs) {
      if (!a.is_string()) return top.wrong_type("architectures", "a list of strings", *archs);
      c.architectures.push_back(a.get<std::string>());
    }
  }
  HEARTH_ASSIGN_OR_RETURN(std::optional<std::string> model_type, lm.get_string("model_type"));
  if (!model_type && text_config) {
    HEARTH_ASSIGN_OR_RETURN(model_type, top.get_string("model_type"));
  }
  if (!model_type) return lm.missing("model_type");
  c.model_type = *model_type;

  HEARTH_ASSIGN_OR_RETURN(c.hidden_size, lm.get_positive("hidden_size"));
  HEARTH_ASSIGN_OR_RETURN(c.num_hidden_layers, lm.get_positive("num_hidden_layers"));
  HEARTH_ASSIGN_OR_RETURN(c.num_attention_heads, lm.get_positive("num_attention_heads"));
  HEARTH_ASSIGN_OR_RETURN(c.vocab_size, lm.get_positive("vocab_size"));
  HEARTH_ASSIGN_OR_RETURN(std::optional<int64_t> kv_heads,
                          lm.get_optional_positive("num_key_value_heads"));
  c.num_key_value_heads = kv_heads.value_or(c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return corrupt_data(what + ": num_attention_heads " + std::to_string(c.num_attention_heads) +
                        " is not a multiple of num_key_value_heads " +
                        std::to_string(c.num_key_value_heads));
  }
  HEARTH_ASSIGN_OR_RETURN(std::optional<int64_t> head_dim, lm.get_optional_positive("head_dim"));
  if (!head_dim && c.hidden_size % c.num_attention_heads != 0) {
    return corrupt_data(what + ": hidden_size " + std::to_string(c.hidden_size) +
                        " is not a multiple of num_attention_heads " +
                        std::to_string(c.num_attention_heads) + " and head_dim is not given");
  }
  c.head_dim = head_dim.value_or(c.hidden_size / c.num_attention_heads);
  HEARTH_ASSIGN_OR_RETURN(c.intermediate_size, lm.get_optional_positive("intermediate_size"));
  HEARTH_ASSIGN_OR_RETURN(c.max_position_embeddings,
                          lm.get_optional_positive("max_position_embeddings"));
  HEARTH_ASSIGN_OR_RETURN(c.rms_norm_eps, lm.get_number("rms_norm_eps"));
  HEARTH_ASSIGN_OR_RETURN(c.rope_theta, lm.get_number("rope_theta"));
  HEARTH_ASSIGN_OR_RETURN(c.sliding_window, lm.get_optional_positive("sliding_window"));

  // Newer transformers move rope settings into "rope_parameters".
  const json* rope_params = lm.find("rope_parameters");
  if (rope_params && !c.rope_theta && rope_params->is_object()) {
    HEARTH_ASSIGN_OR_RETURN(
        c.rope_theta,
        FieldReader(*rope_params, what, lm.prefix() + "rope_parameters.").get_number("rope_theta"));
  }
  if (const json* rs = lm.find("rope_scaling")) {
    HEARTH_ASSIGN_OR_RETURN(HfRopeScaling scaling,
                            parse_rope_scaling(*rs, what, lm.prefix() + "rope_scaling"));
    c.rope_scaling = scaling;
  }

  HEARTH_ASSIGN_OR_RETURN(c.tie_word_embeddings, top.get_bool("tie_word_embeddings"));
  if (!c.tie_word_embeddings && text_config) {
    HEARTH_ASSIGN_OR_RETURN(c.tie_word_embeddings, lm.get_bool("tie_word_embeddings"));
  }
  HEARTH_ASSIGN_OR_RETURN(c.bos_token_ids, lm.get_token_ids("bos_token_id"));
  if (c.bos_token_ids.empty() && text_config) {
    HEARTH_ASSIGN_OR_RETURN(c.bos_token_ids, top.get_token_ids("bos_token_id"));
  }
  HEARTH_ASSIGN_OR_RETURN(c.eos_token_ids, lm.get_token_ids("eos_token_id"));
  if (c.eos_token_ids.empty() && text_config) {
    HEARTH_ASSIGN_OR_RETURN(c.eos_token_ids, top.get_token_ids("eos_token_id"));
  }
  HEARTH_ASSIGN_OR_RETURN(std::optional<std::string> dtype, top.get_string("torch_dtype"));
  if (!dtype) {
    HEARTH_ASSIGN_OR_RETURN(dtype, top.get_string("dtype"));
  }
  if (!dtype && text_config) {
    HEARTH_ASSIGN_OR_RETURN(dtype, lm.get_string("torch_dtype"));
  }
  c.torch_dtype = dtype.value_or("");
  HEARTH_ASSIGN_OR_RETURN(c.quantization, parse_quantization(top));
  c.raw = std::move(root);
  return c;
}

Expected<HfModelConfig> load_hf_config(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_text_file(path, 16ull << 20));
  return parse_hf_config(text, "'" + path + "'");
}

}  // namespace hearth
