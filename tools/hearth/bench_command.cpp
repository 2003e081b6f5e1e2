// `hearth bench`: prompt processing and generation speed of a model on this machine, like
// llama-bench and mlx_lm.benchmark. One warm-up run, then `-n` trials of
//   pp: a prefill of `-p` random token ids from an empty KV cache (its time is also the time to
//       first token: the prefill yields the first token's logits), and
//   tg: `-g` single-token decode steps from an empty cache, each fed the previous step's argmax
//       (llama-bench's tg also starts from an empty cache).
// Reports median and spread of tokens/s, time to first token and peak RSS, as a table or JSON.
// `--bandwidth` adds a read-only memory sweep and the decode roofline it implies.
// `--synthetic llama3-8b --quant q4_0` benchmarks random weights of a real model's shapes
// (models/synthetic_model.h) instead of a file; `--write-gguf` saves that model for llama-bench.
// `--depth N` first fills N tokens of context (llama-bench -d): pp and tg then run after them.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/bandwidth_probe.h"
#include "backend/cpu/cpu_features.h"
#include "commands.h"
#include "core/dtype.h"
#include "core/process_stats.h"
#include "core/thread_pool.h"
#include "engine_flags.h"
#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"
#include "models/synthetic_model.h"
#include "runtime/kv/kv_cache.h"

namespace hearth::cli {
namespace {

struct BenchArgs {
  std::string model = "default";
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int trials = 5;
  int threads = 0;
  int64_t batch = 0;
  std::string backend;
  bool json = false;
  bool bandwidth = false;
  int64_t bandwidth_mib = 512;
  uint64_t seed = 1234;
  std::string device;          // cpu or cuda (same as --backend cuda)
  std::string synthetic;       // a synthetic model's shape name instead of -m
  std::string quant = "q4_0";  // its weight type
  std::string write_gguf;      // write the synthetic model here and exit
  int64_t depth = 0;           // context tokens before pp and tg
};

struct Spread {
  std::vector<double> values;
  double median = 0, min = 0, max = 0, stdev = 0;
};

Spread spread_of(std::vector<double> v) {
  Spread s;
  s.values = v;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  double mean = 0;
  for (double x : v) mean += x / static_cast<double>(n);
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  s.stdev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0;
  return s;
}

nlohmann::ordered_json to_json(const Spread& s) {
  return {{"median", s.median},
          {"min", s.min},
          {"max", s.max},
          {"stdev", s.stdev},
          {"values", s.values}};
}

int32_t argmax(const std::vector<float>& logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Weight bytes one decode step reads: every 2-D tensor except a token embedding table that an
// untied output head does not reuse (only one row of it is gathered). 0 when not a GGUF file.
uint64_t weight_bytes_per_token(const std::string& path) {
  auto file = GgufFile::open(path);
  if (!file.ok()) return 0;
  const bool untied = file->find_tensor("output.weight") != nullptr;
  uint64_t bytes = 0;
  for (const GgufTensorInfo& t : file->tensors()) {
    if (untied && t.name == "token_embd.weight") continue;
    bytes += t.nbytes;
  }
  return bytes;
}

struct Trial {
  double pp_s = 0;
  double tg_s = 0;
};

// The cache holds `depth` tokens of context, which every trial keeps.
Expected<Trial> run_trial(Model& model, KvCache& cache, const std::vector<int32_t>& prompt,
                          int64_t n_gen, std::vector<float>& logits, int64_t depth) {
  Trial t;
  HEARTH_RETURN_IF_ERROR(cache.truncate(depth));
  const double t0 = monotonic_seconds();
  if (!prompt.empty()) {
    HEARTH_RETURN_IF_ERROR(model.forward(cache, prompt, LogitsFor::kLastToken, logits));
  }
  int32_t token = prompt.empty() ? 0 : argmax(logits);
  t.pp_s = monotonic_seconds() - t0;
  HEARTH_RETURN_IF_ERROR(cache.truncate(depth));
  const double t1 = monotonic_seconds();
  for (int64_t i = 0; i < n_gen; ++i) {
    // The argmax, picked where the backend can (on a GPU only the id comes back).
    const int32_t one[1] = {token};
    HEARTH_ASSIGN_OR_RETURN(token, model.forward_pick(cache, one, TokenPick{}));
  }
  t.tg_s = monotonic_seconds() - t1;
  return t;
}

int run_bench(const BenchArgs& args) {
  Expected<SyntheticShape> shape = not_found("");
  Expected<DType> quant = DType::kQ4_0;
  if (!args.synthetic.empty()) {
    shape = synthetic_shape(args.synthetic);
    quant = synthetic_weight_type(args.quant);
    for (const Status& st : {shape.status(), quant.status()}) {
      if (!st.ok()) {
        fmt::print(stderr, "error: {}\n", st.to_string());
        return 1;
      }
    }
    if (!args.write_gguf.empty()) {
      const Status st = write_synthetic_gguf(*shape, *quant, args.seed, args.write_gguf);
      if (!st.ok()) {
        fmt::print(stderr, "error: {}\n", st.to_string());
        return 1;
      }
      fmt::print("wrote {} ({} {}, seed {})\n", args.write_gguf, args.synthetic, args.quant,
                 args.seed);
      return 0;
    }
  } else if (!args.write_gguf.empty()) {
    fmt::print(stderr, "error: --write-gguf needs --synthetic\n");
    return 1;
  }
  const std::string path = shape.ok() ? "synthetic " + args.synthetic + " " + args.quant
                                      : resolve_model_path(args.model);
  // Read the tensor sizes first: the file is mapped only briefly, before the model's own mapping.
  const uint64_t weights =
      shape.ok() ? synthetic_weight_bytes_per_token(*shape, *quant) : weight_bytes_per_token(path);
  LoadOptions load;
  load.n_threads = args.threads > 0 ? args.threads : ThreadPool::physical_cores();
  if (args.batch > 0) load.max_batch_tokens = args.batch;  // else the engine's default step
  load.backend = args.device == "cuda" ? "cuda" : args.backend;
  const double load_t0 = monotonic_seconds();
  auto model =
      shape.ok() ? load_synthetic_model(*shape, *quant, args.seed, load) : load_model(path, load);
  if (!model.ok()) {
    fmt::print(stderr, "error: {}\n", model.status().to_string());
    return 1;
  }
  const double load_s = monotonic_seconds() - load_t0;
  Model& m = **model;
  const ModelInfo& info = m.info();
  auto cache =
      m.new_kv_cache(std::min(args.depth + args.n_prompt + args.n_gen, info.context_length));
  if (!cache.ok()) {
    fmt::print(stderr, "error: {}\n", cache.status().to_string());
    return 1;
  }
  if (args.depth + args.n_prompt > (*cache)->capacity() ||
      args.depth + args.n_gen > (*cache)->capacity()) {
    fmt::print(stderr, "error: -d {} + -p {} / -g {} exceed the context length of {} ({} tokens)\n",
               args.depth, args.n_prompt, args.n_gen, info.name, info.context_length);
    return 1;
  }
  std::mt19937_64 rng(args.seed);
  std::vector<int32_t> prompt(static_cast<size_t>(args.n_prompt));
  for (auto& id : prompt) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(info.vocab_size));
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));
  if (args.depth > 0) {  // the context every trial starts from (untimed)
    std::vector<int32_t> context(static_cast<size_t>(args.depth));
    for (auto& id : context) {
      id = static_cast<int32_t>(rng() % static_cast<uint64_t>(info.vocab_size));
    }
    if (Status st = m.forward(**cache, context, LogitsFor::kLastToken, logits); !st.ok()) {
      fmt::print(stderr, "error: {}\n", st.to_string());
      return 1;
    }
  }

  if (auto warm = run_trial(m, **cache, prompt, args.n_gen, logits, args.depth); !warm.ok()) {
    fmt::print(stderr, "error: {}\n", warm.status().to_string());
    return 1;
  }
  std::vector<double> pp, tg, ttft;
  for (int i = 0; i < args.trials; ++i) {
    auto trial = run_trial(m, **cache, prompt, args.n_gen, logits, args.depth);
    if (!trial.ok()) {
      fmt::print(stderr, "error: {}\n", trial.status().to_string());
      return 1;
    }
    if (args.n_prompt > 0) pp.push_back(static_cast<double>(args.n_prompt) / trial->pp_s);
    if (args.n_gen > 0) tg.push_back(static_cast<double>(args.n_gen) / trial->tg_s);
    if (args.n_prompt > 0) ttft.push_back(trial->pp_s * 1000.0);
  }
  const uint64_t peak_rss = peak_rss_bytes();  // before the bandwidth probe's buffer
  const Spread pp_s = spread_of(pp), tg_s = spread_of(tg), ttft_s = spread_of(ttft);

  std::string backend = !load.backend.empty() ? load.backend : "cpu";
  if (backend == "cpu") {
    auto isa = cpu::select_isa();
    backend += "-" + std::string(isa.ok() ? cpu::isa_name(*isa) : "?");
  }
  const std::string model_name = std::filesystem::path(path).filename().string();
  nlohmann::ordered_json out = {{"model", model_name},
                                {"path", path},
                                {"backend", backend},
                                {"threads", load.n_threads},
                                {"n_prompt", args.n_prompt},
                                {"n_gen", args.n_gen},
                                {"depth", args.depth},
                                {"trials", args.trials},
                                {"batch", load.max_batch_tokens},
                                {"load_s", load_s},
                                {"pp_tokens_per_s", to_json(pp_s)},
                                {"tg_tokens_per_s", to_json(tg_s)},
                                {"ttft_ms", to_json(ttft_s)},
                                {"peak_rss_bytes", peak_rss},
                                {"kv_cache", std::string(dtype_name((*cache)->geometry().dtype))}};

  // Decode reads the weights once per token plus the cached K/V (f32, or f16 on CUDA) of the
  // positions so far: on average depth + n_gen / 2 of them during tg.
  const KvCacheGeometry& kv = (*cache)->geometry();
  const double kv_bytes = 2.0 * static_cast<double>(kv.n_layers * kv.n_kv_heads * kv.head_dim) *
                          static_cast<double>(dtype_traits(kv.dtype).block_bytes) *
                          (static_cast<double>(args.depth) + static_cast<double>(args.n_gen) / 2.0);
  const double bytes_per_token = static_cast<double>(weights) + kv_bytes;
  out["bytes_per_token"] = bytes_per_token;
  if (args.bandwidth) {
    auto bw = cpu::measure_read_bandwidth(static_cast<size_t>(args.bandwidth_mib) << 20,
                                          load.n_threads, 12);
    if (!bw.ok()) {
      fmt::print(stderr, "error: {}\n", bw.status().to_string());
      return 1;
    }
    const double roofline = weights > 0 ? bw->median_gb_per_s * 1e9 / bytes_per_token : 0;
    out["bandwidth_gb_per_s"] = {{"median", bw->median_gb_per_s},
                                 {"best", bw->best_gb_per_s},
                                 {"buffer_bytes", bw->bytes},
                                 {"threads", bw->threads}};
    out["roofline"] = {{"bytes_per_token", bytes_per_token},
                       {"weight_bytes", weights},
                       {"tg_tokens_per_s", roofline},
                       {"tg_fraction", roofline > 0 ? tg_s.median / roofline : 0}};
  }

  if (args.json) {
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("model {} ({}, {} layers, vocab {}), backend {}, {} threads, {} trials + 1 warm-up\n",
             model_name, info.architecture, info.n_layers, info.vocab_size, backend, load.n_threads,
             args.trials);
  fmt::print("| {:<8} | {:>10} | {:>10} | {:>10} | {:>8} |\n", "test", "t/s median", "min", "max",
             "stdev");
  fmt::print("|{:-<10}|{:->12}|{:->12}|{:->12}|{:->10}|\n", "", "", "", "", "");
  const auto row = [](const std::string& name, const Spread& s) {
    fmt::print("| {:<8} | {:>10.2f} | {:>10.2f} | {:>10.2f} | {:>8.2f} |\n", name, s.median, s.min,
               s.max, s.stdev);
  };
  const std::string at = args.depth > 0 ? " @ d" + std::to_string(args.depth) : "";
  if (!pp.empty()) row("pp" + std::to_string(args.n_prompt) + at, pp_s);
  if (!tg.empty()) row("tg" + std::to_string(args.n_gen) + at, tg_s);
  if (!pp.empty()) {
    fmt::print("time to first token: {:.1f} ms (min {:.1f}, max {:.1f})\n", ttft_s.median,
               ttft_s.min, ttft_s.max);
  }
  fmt::print("peak RSS: {:.1f} MiB\n", static_cast<double>(peak_rss) / (1 << 20));
  if (!tg.empty() && weights > 0) {
    fmt::print("decode reads {:.1f} MB/token (weights + KV): {:.1f} GB/s at the tg median\n",
               bytes_per_token / 1e6, bytes_per_token * tg_s.median / 1e9);
  }
  if (args.bandwidth) {
    const auto& bw = out["bandwidth_gb_per_s"];
    const auto& rf = out["roofline"];
    fmt::print("read bandwidth: {:.2f} GB/s median, {:.2f} best ({} threads, {} MiB sweep)\n",
               bw["median"].get<double>(), bw["best"].get<double>(), load.n_threads,
               args.bandwidth_mib);
    fmt::print("decode roofline: {:.1f} MB/token -> {:.1f} tokens/s; tg at {:.0f}% of it\n",
               bytes_per_token / 1e6, rf["tg_tokens_per_s"].get<double>(),
               100.0 * rf["tg_fraction"].get<double>());
  }
  return 0;
}

}  // namespace

void register_bench_command(CLI::App& app, std::function<int()>& run) {
  static BenchArgs args;
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure prompt processing and generation speed (like llama-bench)");
  cmd->add_option("-m,--model", args.model,
                  "a .gguf file, a Hugging Face model directory, or 'default'")
      ->capture_default_str();
  cmd->add_option("-p,--n-prompt", args.n_prompt, "prompt tokens per pp trial (0: skip pp)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("-g,--n-gen", args.n_gen, "generated tokens per tg trial (0: skip tg)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("-n,--trials", args.trials, "timed trials after one warm-up run")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("-t,--threads", args.threads, "CPU threads (0: one per physical core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("-b,--batch", args.batch,
                  "tokens per prefill step (0: the engine's default, 256)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16));
  cmd->add_option("--backend", args.backend, "cpu or reference (default: $HEARTH_BACKEND or cpu)");
  cmd->add_option("--device", args.device, "cpu or cuda (cuda: the GPU backend)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option(
      "--synthetic", args.synthetic,
      "random weights of a real model's shapes instead of -m: " + synthetic_shape_names());
  cmd->add_option("--quant", args.quant, "weight type of --synthetic (q4_0, q4_1, q8_0, f16, bf16)")
      ->capture_default_str();
  cmd->add_option("--write-gguf", args.write_gguf,
                  "write the --synthetic model to this .gguf file (for llama-bench) and exit");
  cmd->add_option("-d,--depth", args.depth,
                  "tokens of context before each pp and tg (like llama-bench -d)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 22));
  cmd->add_option("--seed", args.seed, "seed of the random prompt")->capture_default_str();
  cmd->add_flag("--json", args.json, "print the results as JSON");
  cmd->add_flag("--bandwidth", args.bandwidth,
                "also measure the read bandwidth and the decode roofline it implies");
  cmd->add_option("--bandwidth-mib", args.bandwidth_mib, "size of the bandwidth sweep buffer")
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 16))
      ->capture_default_str();
  cmd->callback([&run] { run = [] { return run_bench(args); }; });
}

}  // namespace hearth::cli
