#include "formats/model_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "formats/gguf/gguf_file.h"

namespace hearth {
namespace {

// llama.cpp's LLAMA_FTYPE values, as written to general.file_type.
std::string file_type_name(uint64_t ft) {
  static const std::map<uint64_t, const char*> kNames = {
      {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},    {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},  {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},  {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},  {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},  {31, "IQ1_M"},  {32, "BF16"},
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
    TensorSummary t{ti.name, ggml_type_display_name(ti.ggml_type), ti.shape, ti.nbytes};
    DTypeUsage& use = s.by_type[t.type];
    use.tensors += 1;
    use.elements += static_cast<uint64_t>(ti.shape.numel());
    use.bytes += ti.nbytes;
    s.parameters += static_cast<uint64_t>(ti.shape.numel());
    s.weight_bytes += ti.nbytes;
    s.tensors.push_back(std::move(t));
  }
  if (auto ft = f.get_uint("general.file_type"); ft.ok()) {
    s.quantization = file_type_name(*ft);
  } else {
    s.quantization = dominant_type(s);
  }
  s.kv_cache_bytes_full_context = static_cast<uint64_t>(s.layers) *
                                  static_cast<uint64_t>(s.context_length) *
                                  static_cast<uint64_t>(s.kv_heads) *
                                  static_cast<uint64_t>(s.head_dim + v_dim) * 2u;
  return s;
}

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_count(uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", static_cast<double>(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", static_cast<double>(n) / 1e3);
  return std::to_string(n);
}

}  // namespace

Expected<ModelSummary> summarize_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("model path '" + path + "' does not exist");
  return summarize_gguf(path);
}

std::string format_model_summary(const ModelSummary& s, bool all_tensors) {
  std::string out;
  auto line = [&out](std::string_view k, const std::string& v) {
    out += fmt::format("{:<22}{}\n", k, v);
  };
  line("path", s.path);
  line("format", s.format);
  if (!s.name.empty()) line("name", s.name);
  line("architecture", s.architecture.empty() ? "(not stated)" : s.architecture);
  line("parameters", fmt::format("{} ({})", human_count(s.parameters), s.parameters));
  line("quantization", s.quantization);
  line("weights", human_bytes(s.weight_bytes));
  line("context length", std::to_string(s.context_length));
  line("layers", std::to_string(s.layers));
  line("embedding", std::to_string(s.embedding));
  line("attention heads", fmt::format("{} (kv {}, head dim {})", s.heads, s.kv_heads, s.head_dim));
  line("vocabulary", std::to_string(s.vocab));
  line("tokenizer", s.tokenizer.empty() ? "(none)" : s.tokenizer);
  line("chat template", s.has_chat_template ? "yes" : "no");
  line("KV cache (f16, full)", human_bytes(s.kv_cache_bytes_full_context));
  line("memory needed", fmt::format("{} (weights + full-context KV cache)",
                                    human_bytes(s.weight_bytes + s.kv_cache_bytes_full_context)));
  out += "\ntensor types:\n";
  for (const auto& [type, use] : s.by_type) {
    out += fmt::format("  {:<8}{:>6} tensors {:>14} elements {:>12}\n", type, use.tensors,
                       use.elements, human_bytes(use.bytes));
  }
  const size_t shown = all_tensors ? s.tensors.size() : std::min<size_t>(s.tensors.size(), 12);
  out += fmt::format("\ntensors ({} total{}):\n", s.tensors.size(),
                     shown < s.tensors.size() ? ", first " + std::to_string(shown) +
                                                    " shown; --all lists every tensor"
                                              : "");
  for (size_t i = 0; i < shown; ++i) {
    const TensorSummary& t = s.tensors[i];
    out += fmt::format("  {:<40} {:<6} {:<16} {:>12}\n", t.name, t.type, t.shape.to_string(),
                       human_bytes(t.bytes));
  }
  return out;
}

}  // namespace hearth
