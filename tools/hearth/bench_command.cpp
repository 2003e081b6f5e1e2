// `hearth bench`: prompt processing and generation speed of a model on this machine, like
// llama-bench and mlx_lm.benchmark. One warm-up run, then `-n` trials of
//   pp: a prefill of `-p` random token ids from an empty KV cache (its time is also the time to
//       first token: the prefill yields the first token's logits), and
//   tg: `-g` single-token decode steps from an empty cache, each fed the previous step's argmax
//       (llama-bench's tg also starts from an empty cache).
// Reports median and spread of tokens/s, time to first token and peak RSS, as a table or JSON.
// `--bandwidth` adds a read-only memory sweep and the decode roofline it implies.
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
#include "core/process_stats.h"
#include "core/thread_pool.h"
#include "engine_flags.h"
#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"

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

Expected<Trial> run_trial(Model& model, KvCache& cache, const std::vector<int32_t>& prompt,
                          int64_t n_gen, std::vector<float>& logits) {
  Trial t;
  HEARTH_RETURN_IF_ERROR(cache.truncate(0));
  const double t0 = monotonic_seconds();
  if (!prompt.empty()) {
    HEARTH_RETURN_IF_ERROR(model.forward(cache, prompt, LogitsFor::kLastToken, logits));
  }
  int32_t token = prompt.empty() ? 0 : argmax(logits);
  t.pp_s = monotonic_seconds() - t0;
  HEARTH_RETURN_IF_ERROR(cache.truncate(0));
  const double t1 = monotonic_seconds();
  for (int64_t i = 0; i < n_gen; ++i) {
    const int32_t one[1] = {token};
    HEARTH_RETURN_IF_ERROR(model.forward(cache, one, LogitsFor::kLastToken, logits));
    token = argmax(logits);
  }
  t.tg_s = monotonic_seconds() - t1;
  return t;
}

int run_bench(const BenchArgs& args) {
  const std::string path = resolve_model_path(args.model);
  // Read the tensor sizes first: the file is mapped only briefly, before the model's own mapping.
  const uint64_t weights = weight_bytes_per_token(path);
  LoadOptions load;
  load.n_threads = args.threads > 0 ? args.threads : ThreadPool::physical_cores();
  if (args.batch > 0) load.max_batch_tokens = args.batch;  // else the engine's default step
  load.backend = args.backend;
  const double load_t0 = monotonic_seconds();
  auto model = load_model(path, load);
  if (!model.ok()) {
    fmt::print(stderr, "error: {}\n", model.status().to_string());
    return 1;
  }
  const double load_s = monotonic_seconds() - load_t0;
  Model& m = **model;
  const ModelInfo& info = m.info();
  auto cache = m.new_kv_cache(std::min(args.n_prompt + args.n_gen, info.context_length));
  if (!cache.ok()) {
    fmt::print(stderr, "error: {}\n", cache.status().to_string());
    return 1;
  }
  if (args.n_prompt > (*cache)->capacity() || args.n_gen > (*cache)->capacity()) {
    fmt::print(stderr, "error: -p {} / -g {} exceed the context length of {} ({} tokens)\n",
               args.n_prompt, args.n_gen, info.name, info.context_length);
    return 1;
  }
  std::mt19937_64 rng(args.seed);
  std::vector<int32_t> prompt(static_cast<size_t>(args.n_prompt));
  for (auto& id : prompt) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(info.vocab_size));
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));

  if (auto warm = run_trial(m, **cache, prompt, args.n_gen, logits); !warm.ok()) {
    fmt::print(stderr, "error: {}\n", warm.status().to_string());
    return 1;
  }
  std::vector<double> pp, tg, ttft;
  for (int i = 0; i < args.trials; ++i) {
    auto trial = run_trial(m, **cache, prompt, args.n_gen, logits);
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

  std::string backend = args.backend.empty() ? "cpu" : args.backend;
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
                                {"trials", args.trials},
                                {"batch", load.max_batch_tokens},
                                {"load_s", load_s},
                                {"pp_tokens_per_s", to_json(pp_s)},
                                {"tg_tokens_per_s", to_json(tg_s)},
                                {"ttft_ms", to_json(ttft_s)},
                                {"peak_rss_bytes", peak_rss}};

  // Decode reads the weights once per token plus the cached K/V (f32) of the positions so far:
  // on average n_gen / 2 of them during tg.
  const double kv_bytes = 2.0 *
                          static_cast<double>(info.n_layers * info.n_kv_heads * info.head_dim) *
                          sizeof(float) * (static_cast<double>(args.n_gen) / 2.0);
  const double bytes_per_token = static_cast<double>(weights) + kv_bytes;
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
  if (!pp.empty()) row("pp" + std::to_string(args.n_prompt), pp_s);
  if (!tg.empty()) row("tg" + std::to_string(args.n_gen), tg_s);
  if (!pp.empty()) {
    fmt::print("time to first token: {:.1f} ms (min {:.1f}, max {:.1f})\n", ttft_s.median,
               ttft_s.min, ttft_s.max);
  }
  fmt::print("peak RSS: {:.1f} MiB\n", static_cast<double>(peak_rss) / (1 << 20));
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
