// CpuBackend on real model weights: every quantized tensor type of the default model (Q4_1,
// Q8_0) and of Gemma 3 (Q5_0, Q4_K, Q6_K, Q8_0) against ReferenceBackend, and whole forward
// passes of the default model on both backends. Skips when the models are absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/reference/reference_backend.h"
#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"
#include "random_tensors.h"
#include "support/test_support.h"

namespace hearth {
namespace {

TensorView f32_view(std::vector<float>& v, Shape shape) {
  return TensorView(v.data(), DType::kF32, shape);
}

// The first `rows` rows of a weight.
TensorView first_rows(const TensorView& w, int64_t rows) {
  return TensorView(const_cast<std::byte*>(w.row_ptr(0)), w.dtype(),
                    Shape{std::min(rows, w.rows()), w.cols()});
}

// cpu vs reference on `w` with the 8-bit activation bound (see cpu_backend_parity_test.cpp).
void compare_matmul(const std::string& name, const TensorView& w, int64_t t, std::mt19937& rng) {
  ReferenceBackend ref(2);
  CpuBackend cpu(2, cpu::detect_best_isa());
  const int64_t n = w.rows(), k = w.cols();
  std::vector<float> x = test::random_floats(t * k, rng);
  std::vector<float> want(static_cast<size_t>(t * n)), got(want.size());
  ASSERT_TRUE(ref.matmul(f32_view(x, Shape{t, k}), w, nullptr, f32_view(want, Shape{t, n})).ok());
  auto prepared = cpu.prepare_matrix(name, w);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
  const Status st =
      cpu.matmul(f32_view(x, Shape{t, k}), *prepared, nullptr, f32_view(got, Shape{t, n}));
  ASSERT_TRUE(st.ok()) << st.to_string();
  const std::vector<float> wf = test::dequantized(w);
  const int64_t block = dtype_traits(w.dtype()).block_elems == 256 ? 256 : 32;
  const bool quantized_act = t < cpu::MatmulDriver::sgemm_min_tokens() && w.dtype() != DType::kQ8_0;
  int failures = 0;
  for (int64_t tt = 0; tt < t && failures < 3; ++tt) {
    for (int64_t r = 0; r < n && failures < 3; ++r) {
      double bound = 0, mag = 0;
      for (int64_t b = 0; b < k / block; ++b) {
        double amax = 0, wsum = 0;
        for (int64_t i = b * block; i < (b + 1) * block; ++i) {
          amax = std::max(amax, std::abs(static_cast<double>(x[tt * k + i])));
          wsum += std::abs(static_cast<double>(wf[r * k + i]));
          mag += std::abs(static_cast<double>(wf[r * k + i]) * x[tt * k + i]);
        }
        if (quantized_act) bound += wsum * amax / 254.0;
      }
      const double tol = bound * 1.001 + 1e-5 * mag + 1e-6;
      const size_t i = static_cast<size_t>(tt * n + r);
      if (!(std::abs(got[i] - want[i]) <= tol)) {
        ++failures;
        ADD_FAILURE() << name << " (" << dtype_name(w.dtype()) << ") t=" << t << " row " << r
                      << ": " << got[i] << " vs " << want[i] << " tolerance " << tol;
      }
    }
  }
}

TEST(CpuRealWeightsTest, EveryQuantizedTypeOfTheTestModelsMatchesTheReference) {
  std::mt19937 rng(7);
  std::map<DType, std::string> seen;
  for (const auto& path_opt : {test::default_model_path(), test::gemma3_model_path()}) {
    if (!path_opt) GTEST_SKIP() << "test models not found; run scripts/bootstrap.sh test";
    auto file = GgufFile::open(*path_opt);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    auto store = file->to_weight_store();
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (const auto& e : store->entries()) {
      if (e.view.shape().rank() != 2 || !dtype_is_quantized(e.view.dtype())) continue;
      if (seen.count(e.view.dtype())) continue;
      seen[e.view.dtype()] = e.name;
      const TensorView w = first_rows(e.view, 96);
      for (int64_t t : {1, 3, 20}) compare_matmul(e.name, w, t, rng);
    }
  }
  // The kernels the default model and Gemma 3 need were all exercised.
  for (DType t : {DType::kQ4_1, DType::kQ8_0, DType::kQ5_0, DType::kQ4_K, DType::kQ6_K}) {
    EXPECT_TRUE(seen.count(t)) << dtype_name(t) << " not found in the test models";
  }
}

// Greedy argmax and the logits' spread, position by position.
struct LogitStats {
  double rms_diff = 0, rms_ref = 0;
  int argmax_mismatches = 0;
  int decisive_mismatches = 0;  // where the reference's top two differ by more than 1.0
};

LogitStats compare_logits(const std::vector<float>& a, const std::vector<float>& ref,
                          int64_t vocab) {
  LogitStats s;
  const auto rows = static_cast<int64_t>(ref.size()) / vocab;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = a.data() + r * vocab;
    const float* y = ref.data() + r * vocab;
    const auto am = std::max_element(x, x + vocab) - x;
    const auto bm = std::max_element(y, y + vocab) - y;
    float second = -1e30f;
    for (int64_t i = 0; i < vocab; ++i) {
      if (i != bm) second = std::max(second, y[i]);
    }
    if (am != bm) {
      ++s.argmax_mismatches;
      if (y[bm] - second > 1.0f) ++s.decisive_mismatches;
    }
    for (int64_t i = 0; i < vocab; ++i) {
      s.rms_diff += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
      s.rms_ref += y[i] * static_cast<double>(y[i]);
    }
  }
  s.rms_diff = std::sqrt(s.rms_diff / static_cast<double>(ref.size()));
  s.rms_ref = std::sqrt(s.rms_ref / static_cast<double>(ref.size()));
  return s;
}

TEST(CpuRealWeightsTest, DefaultModelForwardMatchesTheReferenceBackend) {
  HEARTH_REQUIRE_PATH(path, test::default_model_path(), "default model");
  LoadOptions ref_opts, cpu_opts;
  ref_opts.backend = "reference";
  cpu_opts.backend = "cpu";
  ref_opts.n_threads = cpu_opts.n_threads = 2;
  ref_opts.max_batch_tokens = cpu_opts.max_batch_tokens = 32;
  auto ref = load_model(path, ref_opts);
  auto cpu = load_model(path, cpu_opts);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  const int64_t vocab = (*ref)->info().vocab_size;
  // A 64-token prompt: two prefill chunks of 32, both on the sgemm path (f32 activations).
  ASSERT_LE(cpu::MatmulDriver::sgemm_min_tokens(), 32);
  std::vector<int32_t> prompt;
  std::mt19937 rng(3);
  for (int i = 0; i < 64; ++i) prompt.push_back(static_cast<int32_t>(rng() % 20000));
  auto ref_cache = (*ref)->new_kv_cache(80);
  auto cpu_cache = (*cpu)->new_kv_cache(80);
  ASSERT_TRUE(ref_cache.ok() && cpu_cache.ok());
  std::vector<float> ref_logits(prompt.size() * vocab), cpu_logits(ref_logits.size());
  ASSERT_TRUE((*ref)->forward(**ref_cache, prompt, LogitsFor::kAllTokens, ref_logits).ok());
  ASSERT_TRUE((*cpu)->forward(**cpu_cache, prompt, LogitsFor::kAllTokens, cpu_logits).ok());
  const LogitStats prefill = compare_logits(cpu_logits, ref_logits, vocab);
  // Only the summation order differs (observed ~1e-6 of the logits' size after 30 layers).
  EXPECT_LT(prefill.rms_diff, 1e-4 * prefill.rms_ref)
      << prefill.rms_diff << " vs " << prefill.rms_ref;
  EXPECT_EQ(prefill.argmax_mismatches, 0);

  std::vector<float> ref_step(vocab), cpu_step(vocab);
  std::vector<float> ref_all, cpu_all;
  int32_t token = 42;
  for (int step = 0; step < 6; ++step) {
    const std::vector<int32_t> one = {token};
    ASSERT_TRUE((*ref)->forward(**ref_cache, one, LogitsFor::kLastToken, ref_step).ok());
    ASSERT_TRUE((*cpu)->forward(**cpu_cache, one, LogitsFor::kLastToken, cpu_step).ok());
    ref_all.insert(ref_all.end(), ref_step.begin(), ref_step.end());
    cpu_all.insert(cpu_all.end(), cpu_step.begin(), cpu_step.end());
    token =
        static_cast<int32_t>(std::max_element(ref_step.begin(), ref_step.end()) - ref_step.begin());
  }
  const LogitStats decode = compare_logits(cpu_all, ref_all, vocab);
  // Decode quantizes every matmul input to 8 bits per 32 values (as llama.cpp's CPU path does):
  // each input moves by <= 0.4% of its block's largest value, which after 30 layers and the head
  // leaves the logits within a few percent of their spread. Greedy choices must agree wherever
  // the reference is not near a tie.
  EXPECT_LT(decode.rms_diff, 0.05 * decode.rms_ref) << decode.rms_diff << " vs " << decode.rms_ref;
  EXPECT_EQ(decode.decisive_mismatches, 0);
  std::printf("prefill logits rms diff %.3g (rms %.3g); decode %.3g (rms %.3g), %d argmax differ\n",
              prefill.rms_diff, prefill.rms_ref, decode.rms_diff, decode.rms_ref,
              decode.argmax_mismatches);
}

}  // namespace
}  // namespace hearth
