// Measures prefill and decode speed of a model (not a test; the numbers go to docs).
// Usage: model_speed [model.gguf] [threads] [prompt_tokens] [decode_tokens] [backend]
// (backend: reference (default) or cpu)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/load_model.h"
#include "support/test_support.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const auto default_path = hearth::test::default_model_path();
  const std::string path = argc > 1 ? argv[1] : default_path.value_or("");
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int prompt_tokens = argc > 3 ? std::atoi(argv[3]) : 128;
  const int decode_tokens = argc > 4 ? std::atoi(argv[4]) : 32;
  const std::string backend = argc > 5 ? argv[5] : "reference";
  if (path.empty() || prompt_tokens < 1 || decode_tokens < 1) {
    std::fprintf(
        stderr,
        "usage: model_speed [model.gguf] [threads] [prompt_tokens] [decode_tokens] [backend]\n");
    return 2;
  }
  hearth::LoadOptions options;
  options.n_threads = threads;
  options.backend = backend;
  options.max_batch_tokens = prompt_tokens;
  auto model = hearth::load_model(path, options);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().to_string().c_str());
    return 1;
  }
  auto cache = (*model)->new_kv_cache(prompt_tokens + decode_tokens);
  if (!cache.ok()) {
    std::fprintf(stderr, "%s\n", cache.status().to_string().c_str());
    return 1;
  }
  std::vector<int32_t> prompt(static_cast<size_t>(prompt_tokens));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(100 + i * 37 % 5000);
  std::vector<float> logits(static_cast<size_t>((*model)->info().vocab_size));

  const auto t0 = Clock::now();
  hearth::Status st = (*model)->forward(**cache, prompt, hearth::LogitsFor::kLastToken, logits);
  const auto t1 = Clock::now();
  int32_t next = 42;
  for (int i = 0; i < decode_tokens && st.ok(); ++i) {
    st = (*model)->forward(**cache, {&next, 1}, hearth::LogitsFor::kLastToken, logits);
  }
  const auto t2 = Clock::now();
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf(
      "%s, %s backend, %d threads: prefill %d tokens %.2f tok/s, decode %d tokens %.2f tok/s\n",
      path.c_str(), backend.c_str(), threads, prompt_tokens, prompt_tokens / prefill_s,
      decode_tokens, decode_tokens / decode_s);
  return 0;
}
