// `models inspect` for safetensors files and Hugging Face model directories: facts from
// config.json, sizes from the safetensors headers (no weights are paged in), chat template
// presence from tokenizer_config.json.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "formats/hf/hf_config.h"
#include "formats/hf/hf_model_dir.h"
#include "formats/json_parse.h"
#include "formats/model_summary_internal.h"
#include "formats/safetensors/safetensors_file.h"
#include "formats/safetensors/safetensors_index.h"

namespace hearth::summary_detail {
namespace {

namespace fs = std::filesystem;

// Fits any rank into TensorSummary's Shape by folding leading dimensions together.
Shape summary_shape(const std::vector<int64_t>& dims) {
  if (dims.size() <= static_cast<size_t>(kMaxRank)) {
    return Shape::from_dims(dims.data(), static_cast<int>(dims.size()));
  }
  std::vector<int64_t> folded(dims.end() - (kMaxRank - 1), dims.end());
  int64_t lead = 1;
  for (size_t i = 0; i + (kMaxRank - 1) < dims.size(); ++i) lead *= dims[i];
  folded.insert(folded.begin(), lead);
  return Shape::from_dims(folded.data(), kMaxRank);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_of(const std::string& name) {  // "a.b.weight" -> "a.b"
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// The tensors to report, from one file or from the shards an index lists.
struct TensorSource {
  std::vector<const SafetensorsTensorInfo*> tensors;
  std::vector<SafetensorsFile> files;  // owns what `tensors` points into
  std::string format_note;             // "mlx", "pt", ... from __metadata__["format"]
};

void add_safetensors(ModelSummary& s, const std::vector<const SafetensorsTensorInfo*>& tensors,
                     const std::optional<HfQuantization>& quant) {
  std::set<std::string> quant_bases;  // MLX: "<base>.weight" packed, with "<base>.scales"
  if (quant) {
    for (const auto* ti : tensors) {
      if (ends_with(ti->name, ".scales")) quant_bases.insert(base_of(ti->name));
    }
  }
  for (const auto* ti : tensors) {
    uint64_t elements = ti->numel();
    const bool aux = quant && (ends_with(ti->name, ".scales") || ends_with(ti->name, ".biases")) &&
                     quant_bases.count(base_of(ti->name));
    if (aux) elements = 0;  // quantization metadata, not parameters
    if (quant && ti->dtype == DType::kU32 && quant_bases.count(base_of(ti->name))) {
      elements = elements * 32 / static_cast<uint64_t>(quant->bits);
    }
    const std::string type(safetensors_name_of(ti->dtype).value_or("?"));
    add_tensor(s, {ti->name, type, summary_shape(ti->dims), ti->nbytes()}, elements);
  }
}

std::string dominant_type(const ModelSummary& s) {
  std::string best;
  uint64_t best_bytes = 0;
  for (const auto& [type, use] : s.by_type) {
    if (use.bytes > best_bytes) {
      best = type;
      best_bytes = use.bytes;
    }
  }
  return best;
}

void apply_config(ModelSummary& s, const HfModelConfig& c) {
  s.architecture = c.model_type;
  if (!c.architectures.empty()) s.architecture += " (" + c.architectures.front() + ")";
  s.context_length = c.max_position_embeddings.value_or(0);
  s.layers = c.num_hidden_layers;
  s.embedding = c.hidden_size;
  s.heads = c.num_attention_heads;
  s.kv_heads = c.num_key_value_heads;
  s.head_dim = c.head_dim;
  s.vocab = c.vocab_size;
  s.kv_cache_bytes_full_context =
      kv_cache_bytes(s.layers, s.context_length, s.kv_heads, s.head_dim, s.head_dim);
}

void apply_quantization(ModelSummary& s, const std::optional<HfQuantization>& quant,
                        const std::string& torch_dtype) {
  if (quant) {
    s.quantization = "MLX " + std::to_string(quant->bits) + "-bit, group size " +
                     std::to_string(quant->group_size);
  } else {
    s.quantization = dominant_type(s);
    if (!torch_dtype.empty()) s.quantization += " (config torch_dtype " + torch_dtype + ")";
  }
}

// tokenizer.json / tokenizer_config.json facts. A missing or unreadable file only means "no".
void apply_tokenizer_files(ModelSummary& s, const fs::path& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir / "tokenizer.json", ec)) s.tokenizer = "tokenizer.json";
  if (fs::is_regular_file(dir / "chat_template.jinja", ec) ||
      fs::is_regular_file(dir / "chat_template.json", ec)) {
    s.has_chat_template = true;
  }
  auto config = read_json_file((dir / "tokenizer_config.json").string(), 16ull << 20);
  if (config.ok() && config->is_object()) {
    const auto it = config->find("chat_template");
    if (it != config->end() && (it->is_string() || it->is_array())) s.has_chat_template = true;
    if (s.tokenizer.empty()) {
      if (const auto cls = config->find("tokenizer_class");
          cls != config->end() && cls->is_string()) {
        s.tokenizer = cls->get<std::string>();
      }
    }
  }
}

Expected<TensorSource> tensors_of_dir(const fs::path& dir) {
  TensorSource src;
  std::error_code ec;
  if (fs::is_regular_file(dir / kHfWeightsIndexFile, ec)) {
    HEARTH_ASSIGN_OR_RETURN(ShardedSafetensors sharded,
                            ShardedSafetensors::open((dir / kHfWeightsIndexFile).string()));
    src.files = sharded.shards();
    const auto& shard_files = sharded.index().shard_files;
    for (const auto& [tensor, shard] : sharded.index().weight_map) {
      const auto it = std::lower_bound(shard_files.begin(), shard_files.end(), shard);
      const SafetensorsFile& file = src.files[static_cast<size_t>(it - shard_files.begin())];
      const SafetensorsTensorInfo* ti = file.find_tensor(tensor);
      if (!ti) {
        return not_found("'" + (dir / kHfWeightsIndexFile).string() + "' maps tensor '" + tensor +
                         "' to '" + shard + "', but that shard has no such tensor");
      }
      src.tensors.push_back(ti);
    }
  } else if (fs::is_regular_file(dir / kHfSingleWeightsFile, ec)) {
    HEARTH_ASSIGN_OR_RETURN(SafetensorsFile file,
                            SafetensorsFile::open((dir / kHfSingleWeightsFile).string()));
    src.files.push_back(std::move(file));
    for (const auto& ti : src.files.front().tensors()) src.tensors.push_back(&ti);
  } else {
    return not_found("'" + dir.string() + "' has neither " + kHfSingleWeightsFile + " nor " +
                     kHfWeightsIndexFile);
  }
  if (!src.files.empty()) {
    const auto& meta = src.files.front().metadata();
    if (const auto it = meta.find("format"); it != meta.end()) src.format_note = it->second;
  }
  return src;
}

std::string describe_format(const TensorSource& src, bool directory) {
  std::string f = directory ? "Hugging Face directory, safetensors" : "safetensors";
  if (src.files.size() > 1) f += " (" + std::to_string(src.files.size()) + " shards)";
  if (!src.format_note.empty()) f += ", format \"" + src.format_note + "\"";
  return f;
}

}  // namespace

Expected<ModelSummary> summarize_hf_dir(const std::string& dir) {
  const fs::path root(dir);
  HEARTH_ASSIGN_OR_RETURN(HfModelConfig config, load_hf_config((root / kHfConfigFile).string()));
  HEARTH_ASSIGN_OR_RETURN(TensorSource src, tensors_of_dir(root));
  ModelSummary s;
  s.path = dir;
  s.format = describe_format(src, true);
  s.name = fs::path(dir).lexically_normal().filename().string();
  if (s.name.empty()) s.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  apply_config(s, config);
  add_safetensors(s, src.tensors, config.quantization);
  apply_quantization(s, config.quantization, config.torch_dtype);
  apply_tokenizer_files(s, root);
  return s;
}

Expected<ModelSummary> summarize_safetensors_file(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(path));
  TensorSource src;
  src.files.push_back(std::move(file));
  for (const auto& ti : src.files.front().tensors()) src.tensors.push_back(&ti);
  const auto& meta = src.files.front().metadata();
  if (const auto it = meta.find("format"); it != meta.end()) src.format_note = it->second;

  ModelSummary s;
  s.path = path;
  s.format = describe_format(src, false);
  s.name = fs::path(path).stem().string();
  const fs::path dir = fs::path(path).parent_path();
  std::optional<HfQuantization> quant;
  std::string torch_dtype;
  std::error_code ec;
  if (fs::is_regular_file(dir / kHfConfigFile, ec)) {
    HEARTH_ASSIGN_OR_RETURN(HfModelConfig config, load_hf_config((dir / kHfConfigFile).string()));
    apply_config(s, config);
    quant = config.quantization;
    torch_dtype = config.torch_dtype;
    apply_tokenizer_files(s, dir);
  }
  add_safetensors(s, src.tensors, quant);
  apply_quantization(s, quant, torch_dtype);
  return s;
}

}  // namespace hearth::summary_detail
