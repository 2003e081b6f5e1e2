#include "formats/model_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/checked_math.h"
#include "formats/hf/hf_model_dir.h"
#include "formats/model_summary_internal.h"

namespace hearth {
namespace summary_detail {

void add_tensor(ModelSummary& s, TensorSummary t, uint64_t elements) {
  DTypeUsage& use = s.by_type[t.type];
  use.tensors += 1;
  use.elements += elements;
  use.bytes += t.bytes;
  s.parameters += elements;
  s.weight_bytes += t.bytes;
  s.tensors.push_back(std::move(t));
}

uint64_t kv_cache_bytes(int64_t layers, int64_t context, int64_t kv_heads, int64_t k_dim,
                        int64_t v_dim) {
  if (layers <= 0 || context <= 0 || kv_heads <= 0 || k_dim < 0 || v_dim < 0) return 0;
  std::optional<uint64_t> n = 2;  // bytes per f16 element
  for (int64_t f : {layers, context, kv_heads, k_dim + v_dim}) {
    n = n ? checked_mul(*n, static_cast<uint64_t>(f)) : std::nullopt;
  }
  return n.value_or(UINT64_MAX);  // only absurd (hostile) configs overflow
}

}  // namespace summary_detail

namespace {

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
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("model path '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) {
    if (is_hf_model_dir(path)) return summary_detail::summarize_hf_dir(path);
    return unsupported("'" + path +
                       "' is a directory without config.json; give a .gguf or "
                       ".safetensors file or a Hugging Face model directory");
  }
  // Sniff the content rather than trust the extension.
  char magic[9] = {};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    const size_t got = std::fread(magic, 1, sizeof magic, f);
    std::fclose(f);
    if (got >= 4 && std::memcmp(magic, "GGUF", 4) == 0) return summary_detail::summarize_gguf(path);
    if (got == sizeof magic && magic[8] == '{') {
      return summary_detail::summarize_safetensors_file(path);
    }
  }
  if (path.ends_with(".safetensors")) return summary_detail::summarize_safetensors_file(path);
  return summary_detail::summarize_gguf(path);  // its error names what is wrong with the file
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
                     shown < s.tensors.size()
                         ? ", first " + std::to_string(shown) + " shown; --all lists every tensor"
                         : "");
  for (size_t i = 0; i < shown; ++i) {
    const TensorSummary& t = s.tensors[i];
    out += fmt::format("  {:<40} {:<6} {:<16} {:>12}\n", t.name, t.type, t.shape.to_string(),
                       human_bytes(t.bytes));
  }
  return out;
}

}  // namespace hearth
