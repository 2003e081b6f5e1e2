// `models inspect` for GGUF files: facts from the metadata, sizes from the tensor infos.
#include <map>

#include "formats/gguf/gguf_file.h"
#include "formats/model_summary_internal.h"

namespace hearth::summary_detail {
namespace {

// llama.cpp's LLAMA_FTYPE values, as written to general.file_type.
std::string file_type_name(uint64_t ft) {
  static const std::map<uint64_t, const char*> kNames = {
      {0, "F32"},      {1, "F16"},      {2, "Q4_0"},      {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},     {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},   {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},   {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},   {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},   {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"}};
  const auto it = kNames.find(ft);
  return it == kNames.end() ? "file type " + std::to_string(ft) : it->second;
}

int64_t get_int_or(const GgufFile& f, const std::string& key, int64_t fallback) {
  const GgufValue* v = f.find(key);
  if (!v) return fallback;
  if (auto i = v->as_int()) return *i;
  return fallback;
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

}  // namespace

Expected<ModelSummary> summarize_gguf(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
  ModelSummary s;
  s.path = path;
  s.format = "GGUF v" + std::to_string(f.version());
  if (auto name = f.get_string("general.name"); name.ok()) s.name = *name;
  if (auto arch = f.get_string("general.architecture"); arch.ok()) s.architecture = *arch;
  const std::string a = s.architecture + ".";
  s.context_length = get_int_or(f, a + "context_length", 0);
  s.layers = get_int_or(f, a + "block_count", 0);
  s.embedding = get_int_or(f, a + "embedding_length", 0);
  s.heads = get_int_or(f, a + "attention.head_count", 0);
  s.kv_heads = get_int_or(f, a + "attention.head_count_kv", s.heads);
  s.head_dim = get_int_or(f, a + "attention.key_length", s.heads ? s.embedding / s.heads : 0);
  const int64_t v_dim = get_int_or(f, a + "attention.value_length", s.head_dim);
  if (auto tokens = f.get_array("tokenizer.ggml.tokens"); tokens.ok()) {
    s.vocab = static_cast<int64_t>((*tokens)->size());
  }
  s.vocab = get_int_or(f, a + "vocab_size", s.vocab);
  if (auto tm = f.get_string("tokenizer.ggml.model"); tm.ok()) {
    s.tokenizer = *tm;
    if (*tm == "gpt2") s.tokenizer += " (byte-level BPE)";
    if (*tm == "llama") s.tokenizer += " (SentencePiece)";
  }
  s.has_chat_template = f.find("tokenizer.chat_template") != nullptr;
  for (const GgufTensorInfo& ti : f.tensors()) {
    add_tensor(s, {ti.name, ggml_type_display_name(ti.ggml_type), ti.shape, ti.nbytes},
               static_cast<uint64_t>(ti.shape.numel()));
  }
  if (auto ft = f.get_uint("general.file_type"); ft.ok()) {
    s.quantization = file_type_name(*ft);
  } else {
    s.quantization = dominant_type(s);
  }
  s.kv_cache_bytes_full_context =
      kv_cache_bytes(s.layers, s.context_length, s.kv_heads, s.head_dim, v_dim);
  return s;
}

}  // namespace hearth::summary_detail
